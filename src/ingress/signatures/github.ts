import { checkSignatures, decodeHex, defineScheme, fail, hmacSha256, nonEmptySecrets, readHeader } from './shared.js';

const SIGNATURE_HEADER = 'x-hub-signature-256';
const PREFIX = 'sha256=';

/** GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`; no timestamp. */
export const githubScheme = defineScheme({
  name: 'github',
  headerNames: [SIGNATURE_HEADER],
  verify(input) {
    const header = readHeader(input.headers, SIGNATURE_HEADER);
    if (!header.ok) return header;
    // The legacy SHA-1 `X-Hub-Signature` is deliberately not read: SHA-256 only.
    if (!header.value.startsWith(PREFIX)) return fail('malformed_header');
    return checkSignatures({
      presented: [decodeHex(header.value.slice(PREFIX.length))],
      keys: nonEmptySecrets(input.secrets),
      sign: (key) => hmacSha256(key, [input.rawBody]),
    });
  },
});
