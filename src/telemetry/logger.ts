import pino, { type Logger } from 'pino';

/**
 * Paths pino blanks in every log line. The shared key can arrive in the query string, in
 * `X-Webhook-Key` or in `Authorization`; signature headers are secrets-derived; LLM keys sit in
 * definitions. URLs are additionally scrubbed by `redactUrl` before they are logged.
 */
export const REDACT_PATHS = [
  'key',
  '*.key',
  'sharedKey',
  '*.sharedKey',
  'apiKey',
  '*.apiKey',
  'secret',
  '*.secret',
  'req.query.key',
  'req.headers.authorization',
  'req.headers["x-webhook-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-webhook-key"]',
  'adminToken',
];

/** Builds the process logger. `destination` lets tests capture every line. */
export function createLogger(options: { level: string; destination?: NodeJS.WritableStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'hookflow' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    options.destination ?? process.stdout,
  );
}

/** Query parameters that carry a credential: our shared key, and Meta's handshake verify token. */
const CREDENTIAL_PARAMETERS: ReadonlySet<string> = new Set(['key', 'hub.verify_token']);

/**
 * Replaces the value of every credential query parameter in a URL with `[redacted]`. Names are
 * compared decoded, as the query parser sees them: `?%6Bey=…` authenticates like `?key=…`.
 */
export function redactUrl(url: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart === -1) return url;
  const pairs = url.slice(queryStart + 1).split('&').map((pair) => {
    const equals = pair.indexOf('=');
    if (equals === -1 || !isKeyName(pair.slice(0, equals))) return pair;
    return `${pair.slice(0, equals)}=[redacted]`;
  });
  return `${url.slice(0, queryStart + 1)}${pairs.join('&')}`;
}

function isKeyName(encodedName: string): boolean {
  try {
    return CREDENTIAL_PARAMETERS.has(decodeURIComponent(encodedName.replaceAll('+', ' ')).toLowerCase());
  } catch {
    return true; // a malformed escape: redact rather than guess
  }
}
