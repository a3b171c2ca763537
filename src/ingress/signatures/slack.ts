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

const SIGNATURE_HEADER = 'x-slack-signature';
const TIMESTAMP_HEADER = 'x-slack-request-timestamp';
const VERSION = 'v0';

/**
 * Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:" + ts + ":" + body)>` with the
 * timestamp in `X-Slack-Request-Timestamp`.
 */
export const slackScheme = defineScheme({
  name: 'slack',
  headerNames: [SIGNATURE_HEADER, TIMESTAMP_HEADER],
  verify(input) {
    const signature = readHeader(input.headers, SIGNATURE_HEADER);
    if (!signature.ok) return signature;
    const timestampHeader = readHeader(input.headers, TIMESTAMP_HEADER);
    if (!timestampHeader.ok) return timestampHeader;

    if (!signature.value.startsWith(`${VERSION}=`)) return fail('malformed_header');
    const timestamp = parseUnixSeconds(timestampHeader.value);
    if (timestamp === undefined) return fail('malformed_header');
    // Stale requests are refused before any HMAC work: cheap, and replays get a precise reason.
    if (!withinTolerance(timestamp, input)) return fail('timestamp_out_of_tolerance');

    return checkSignatures({
      presented: [decodeHex(signature.value.slice(VERSION.length + 1))],
      keys: nonEmptySecrets(input.secrets),
      sign: (key) => hmacSha256(key, [`${VERSION}:${timestampHeader.value}:`, input.rawBody]),
    });
  },
});
