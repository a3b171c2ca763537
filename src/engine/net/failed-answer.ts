import { HookflowError } from '../../errors/catalogue.js';

/** Answers worth another attempt: the server may be fine a moment later. */
export const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * The step error for an HTTP answer of 400 or more: transient (retried, honouring
 * `Retry-After`) for 408/425/429/5xx, permanent for other 4xx.
 */
export function failedAnswer(options: { message: string; status: number; headers: Readonly<Record<string, string>>; details?: unknown; now?: number }): HookflowError {
  const transient = TRANSIENT_STATUSES.has(options.status);
  const retryAfterSeconds = transient ? parseRetryAfter(options.headers['retry-after'], options.now ?? Date.now()) : undefined;
  return new HookflowError('HOOKFLOW_ERR_STEP_FAILED', options.message, {
    transient,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    ...(options.details === undefined ? {} : { details: options.details }),
  });
}

/**
 * `Retry-After` as seconds from `now`: either form HTTP allows, a number of seconds or an
 * HTTP-date (RFC 9110 §10.2.3); a date in the past means at once. Undefined when absent or
 * unreadable, so the usual backoff applies.
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  const text = value?.trim();
  if (text === undefined || text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text);
  // Every HTTP-date form starts with the day's name; Date.parse alone would take "1.5" or "-5".
  if (!/^[A-Za-z]/.test(text)) return undefined;
  const date = Date.parse(text);
  if (!Number.isFinite(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}
