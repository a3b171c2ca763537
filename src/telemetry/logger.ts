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

/**
 * Scrubs a request target for the access log. Every query parameter keeps its name but loses
 * its value: a key sent under the wrong name (`?apikey=…`, `?token=…`) is as secret as one sent
 * under `key`. A parameter without `=` could itself be a pasted key, so it goes whole, and so
 * does everything after `#`: a fragment is never meant to reach a server, and a raw client that
 * sends one may have put a key there.
 */
export function redactUrl(url: string): string {
  const hash = url.indexOf('#');
  const withoutFragment = hash === -1 ? url : url.slice(0, hash);
  const fragment = hash === -1 ? '' : `#${REDACTED}`;
  const queryStart = withoutFragment.indexOf('?');
  if (queryStart === -1) return `${withoutFragment}${fragment}`;
  const pairs = withoutFragment
    .slice(queryStart + 1)
    .split('&')
    .map((pair) => {
      if (pair === '') return pair;
      const equals = pair.indexOf('=');
      return equals === -1 ? REDACTED : `${pair.slice(0, equals)}=${REDACTED}`;
    });
  return `${withoutFragment.slice(0, queryStart + 1)}${pairs.join('&')}${fragment}`;
}

const REDACTED = '[redacted]';
