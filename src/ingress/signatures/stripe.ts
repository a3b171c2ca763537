import {
  checkSignatures,
  decodeHex,
  defineScheme,
  fail,
  hmacSha256,
  nonEmptySecrets,
  parseUnixSeconds,
  readHeader,
  withinTolerance,
} from './shared.js';

const SIGNATURE_HEADER = 'stripe-signature';

/** `t=` and every `v1=` of a Stripe-Signature header; other schemes (`v0` test-mode) are dropped. */
interface StripeHeader {
  timestampText: string;
  timestamp: number;
  v1: string[];
}

function parseStripeHeader(value: string): StripeHeader | undefined {
  let timestampText: string | undefined;
  const v1: string[] = [];
  for (const item of value.split(',')) {
    const separator = item.indexOf('=');
    if (separator <= 0) return undefined;
    const key = item.slice(0, separator).trim();
    const text = item.slice(separator + 1).trim();
    if (key === 't') {
      // A second `t=` is ambiguous: which one did Stripe sign? Refuse rather than guess.
      if (timestampText !== undefined) return undefined;
      timestampText = text;
    } else if (key === 'v1') {
      v1.push(text);
    }
  }
  if (timestampText === undefined) return undefined;
  const timestamp = parseUnixSeconds(timestampText);
  return timestamp === undefined ? undefined : { timestampText, timestamp, v1 };
}

/**
 * Stripe: `Stripe-Signature: t=<ts>,v1=<hex>[,v1=<hex>…][,v0=…]` over `${t}.${body}`. Several
 * `v1` appear while an endpoint secret is being rolled; any one matching is enough.
 */
export const stripeScheme = defineScheme({
  name: 'stripe',
  headerNames: [SIGNATURE_HEADER],
  verify(input) {
    const header = readHeader(input.headers, SIGNATURE_HEADER);
    if (!header.ok) return header;
    const parsed = parseStripeHeader(header.value);
    if (parsed === undefined) return fail('malformed_header');
    // Stripe's own library only refuses old timestamps; we refuse both directions (clock skew
    // either way is equally suspicious, and the window is symmetric for every scheme here).
    if (!withinTolerance(parsed.timestamp, input)) return fail('timestamp_out_of_tolerance');
    return checkSignatures({
      presented: parsed.v1.map((text) => decodeHex(text)),
      keys: nonEmptySecrets(input.secrets),
      sign: (key) => hmacSha256(key, [`${parsed.timestampText}.`, input.rawBody]),
    });
  },
});
