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

/** Replaces the value of every `key` query parameter in a URL with `[redacted]`. */
export function redactUrl(url: string): string {
  return url.replace(/([?&]key=)[^&#]*/gi, '$1[redacted]');
}
