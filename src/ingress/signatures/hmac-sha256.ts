import {
  checkSignatures,
  decodeSignature,
  defineScheme,
  fail,
  hmacSha256,
  nonEmptySecrets,
  readHeader,
} from './shared.js';
import type { SignatureOptions } from './types.js';

/** Header read when the trigger names none. */
export const DEFAULT_HMAC_HEADER = 'x-signature';

/** The header this trigger's generic HMAC arrives in; lower-cased because header maps are. */
export function hmacSha256HeaderName(options: SignatureOptions): string {
  return (options.header ?? DEFAULT_HMAC_HEADER).toLowerCase();
}

/**
 * Generic HMAC-SHA256 of the raw body for senders with no named scheme: header, encoding
 * (hex/base64) and an optional literal prefix come from the trigger's options. No timestamp,
 * so no replay defence; prefer a named scheme when the sender offers one.
 */
export const hmacSha256Scheme = defineScheme({
  name: 'hmac-sha256',
  // The default only: the real name depends on options, see `signatureHeaderNames` in index.ts.
  headerNames: [DEFAULT_HMAC_HEADER],
  verify(input) {
    const header = readHeader(input.headers, hmacSha256HeaderName(input.options));
    if (!header.ok) return header;
    const prefix = input.options.prefix ?? '';
    if (!header.value.startsWith(prefix)) return fail('malformed_header');
    return checkSignatures({
      presented: [decodeSignature(header.value.slice(prefix.length), input.options.encoding ?? 'hex')],
      keys: nonEmptySecrets(input.secrets),
      sign: (key) => hmacSha256(key, [input.rawBody]),
    });
  },
});
