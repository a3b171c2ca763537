import { checkSignatures, defineScheme, decodeBase64, hmacSha256, nonEmptySecrets, readHeader } from './shared.js';

const SIGNATURE_HEADER = 'x-shopify-hmac-sha256';

/** Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(secret, body)>`; no timestamp. */
export const shopifyScheme = defineScheme({
  name: 'shopify',
  headerNames: [SIGNATURE_HEADER],
  verify(input) {
    const header = readHeader(input.headers, SIGNATURE_HEADER);
    if (!header.ok) return header;
    // The header is the bare digest, so there is no envelope to be malformed beyond being empty.
    return checkSignatures({
      presented: [decodeBase64(header.value)],
      keys: nonEmptySecrets(input.secrets),
      sign: (key) => hmacSha256(key, [input.rawBody]),
    });
  },
});
