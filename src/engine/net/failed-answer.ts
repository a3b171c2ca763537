import { HookflowError } from '../../errors/catalogue.js';

/** Answers worth another attempt: the server may be fine a moment later. */
export const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * The step error for an HTTP answer of 400 or more: transient (retried, honouring
 * `Retry-After` in seconds) for 408/425/429/5xx, permanent for other 4xx.
 */
export function failedAnswer(options: { message: string; status: number; headers: Readonly<Record<string, string>>; details?: unknown }): HookflowError {
  const transient = TRANSIENT_STATUSES.has(options.status);
  const retryAfter = Number(options.headers['retry-after']);
  return new HookflowError('HOOKFLOW_ERR_STEP_FAILED', options.message, {
    transient,
    ...(transient && options.headers['retry-after'] !== undefined && Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfterSeconds: retryAfter } : {}),
    ...(options.details === undefined ? {} : { details: options.details }),
  });
}
