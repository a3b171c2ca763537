import { githubScheme } from './github.js';
import { hmacSha256HeaderName, hmacSha256Scheme } from './hmac-sha256.js';
import { shopifyScheme } from './shopify.js';
import { slackScheme } from './slack.js';
import { standardWebhooksScheme } from './standard-webhooks.js';
import { stripeScheme } from './stripe.js';
import type { SignatureOptions, SignatureScheme, SignatureSchemeName } from './types.js';

export type {
  SignatureCheckInput,
  SignatureCheckResult,
  SignatureFailureReason,
  SignatureOptions,
  SignatureScheme,
  SignatureSchemeName,
} from './types.js';
export { DEFAULT_TOLERANCE_SECONDS } from './shared.js';

// A Record over the name union: adding a name to the type without a scheme fails to compile.
const schemes: Readonly<Record<SignatureSchemeName, SignatureScheme>> = Object.freeze({
  github: githubScheme,
  stripe: stripeScheme,
  slack: slackScheme,
  shopify: shopifyScheme,
  'standard-webhooks': standardWebhooksScheme,
  'hmac-sha256': hmacSha256Scheme,
});

/** The verifier for a scheme named in a (zod-validated) workflow definition. */
export function getSignatureScheme(name: SignatureSchemeName): SignatureScheme {
  return schemes[name];
}

/**
 * Headers a trigger's scheme reads, given its options. Prefer this to `scheme.headerNames`:
 * hmac-sha256 reads whichever header the trigger configures, which a shared scheme can't know.
 */
export function signatureHeaderNames(name: SignatureSchemeName, options: SignatureOptions): readonly string[] {
  return name === 'hmac-sha256' ? [hmacSha256HeaderName(options)] : schemes[name].headerNames;
}
