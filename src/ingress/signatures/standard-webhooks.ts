import {
  checkSignatures,
  decodeBase64,
  defineScheme,
  fail,
  hmacSha256,
  parseUnixSeconds,
  readHeader,
  withinTolerance,
} from './shared.js';

/** The spec's header names, and Svix's own (its libraries send `svix-*` by default, same algorithm). */
const HEADER_SETS = [
  { id: 'webhook-id', timestamp: 'webhook-timestamp', signature: 'webhook-signature' },
  { id: 'svix-id', timestamp: 'svix-timestamp', signature: 'svix-signature' },
] as const;
const SECRET_PREFIX = 'whsec_';

/**
 * HMAC keys from Standard Webhooks secrets, as the reference `standardwebhooks` library reads
 * them: strip an optional `whsec_`, then base64-decode what remains (a secret without the prefix
 * is base64 too, not raw bytes). Secrets that do not decode, or decode to nothing, are dropped;
 * the library refuses to construct with them, so they can never be valid.
 */
export function standardWebhooksKeys(secrets: readonly string[]): Buffer[] {
  const keys: Buffer[] = [];
  for (const secret of Array.isArray(secrets) ? secrets : []) {
    if (typeof secret !== 'string') continue;
    const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
    const key = decodeBase64(encoded);
    if (key !== undefined && key.length > 0) keys.push(key);
  }
  return keys;
}

/**
 * The `v1` signatures of a space-separated `webhook-signature` list, or undefined when no entry
 * even has the `<version>,<signature>` shape. Unknown versions (`v1a` asymmetric, future ones)
 * are skipped, as the spec requires, so senders can add them without breaking receivers.
 */
function v1Signatures(value: string): string[] | undefined {
  const entries = value.split(' ').filter((entry) => entry !== '');
  const versioned = entries.filter((entry) => entry.indexOf(',') > 0);
  if (versioned.length === 0) return undefined;
  return versioned
    .filter((entry) => entry.slice(0, entry.indexOf(',')) === 'v1')
    .map((entry) => entry.slice(entry.indexOf(',') + 1));
}

/**
 * The header set a request uses: the spec's `webhook-*` names when any of them is present, else
 * Svix's `svix-*` names. One set is read whole, never a mix of the two.
 */
function headerSetOf(headers: Readonly<Record<string, string | string[] | undefined>>): (typeof HEADER_SETS)[number] {
  const [spec, svix] = HEADER_SETS;
  return Object.values(spec).some((name) => headers[name] !== undefined) ? spec : svix;
}

/**
 * Standard Webhooks (standardwebhooks.com, used by Svix and others): `webhook-signature:
 * v1,<base64>[ v1,<base64>…]` over `${webhook-id}.${webhook-timestamp}.${body}`. Svix's
 * `svix-id`, `svix-timestamp` and `svix-signature` are accepted as the same headers.
 */
export const standardWebhooksScheme = defineScheme({
  name: 'standard-webhooks',
  headerNames: HEADER_SETS.flatMap((set) => [set.id, set.timestamp, set.signature]),
  verify(input) {
    const names = headerSetOf(input.headers);
    const id = readHeader(input.headers, names.id);
    if (!id.ok) return id;
    const timestampHeader = readHeader(input.headers, names.timestamp);
    if (!timestampHeader.ok) return timestampHeader;
    const signature = readHeader(input.headers, names.signature);
    if (!signature.ok) return signature;

    const timestamp = parseUnixSeconds(timestampHeader.value);
    if (timestamp === undefined) return fail('malformed_header');
    const presented = v1Signatures(signature.value);
    if (presented === undefined) return fail('malformed_header');
    if (!withinTolerance(timestamp, input)) return fail('timestamp_out_of_tolerance');

    return checkSignatures({
      presented: presented.map((text) => decodeBase64(text)),
      keys: standardWebhooksKeys(input.secrets),
      sign: (key) => hmacSha256(key, [`${id.value}.${timestampHeader.value}.`, input.rawBody]),
    });
  },
});
