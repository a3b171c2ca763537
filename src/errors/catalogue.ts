/**
 * The one catalogue of errors hookflow raises on purpose. Each code is stable: once
 * published it keeps its meaning, and a retired code is never reused. `status` is the HTTP
 * status the error maps to; `publicMessage` is the only text a caller ever sees, so it must
 * never contain secrets or request data.
 */
export const ERRORS = {
  HOOKFLOW_ERR_INVALID_KEY: { status: 401, publicMessage: 'Invalid shared key' },
  HOOKFLOW_ERR_FORBIDDEN: { status: 403, publicMessage: 'Forbidden' },
  HOOKFLOW_ERR_BAD_REQUEST_FORMAT: { status: 400, publicMessage: 'Invalid request format' },
  HOOKFLOW_ERR_WEBHOOK_NOT_FOUND: { status: 404, publicMessage: 'Webhook not found' },
  HOOKFLOW_ERR_METHOD_NOT_ALLOWED: { status: 405, publicMessage: 'Method not allowed' },
  HOOKFLOW_ERR_PAYLOAD_TOO_LARGE: { status: 413, publicMessage: 'Payload too large' },
  HOOKFLOW_ERR_UNSUPPORTED_ENCODING: { status: 415, publicMessage: 'Unsupported content encoding' },
  HOOKFLOW_ERR_RATE_LIMITED: { status: 429, publicMessage: 'Too many requests' },
  HOOKFLOW_ERR_STORAGE_UNAVAILABLE: { status: 503, publicMessage: 'Service unavailable' },
  HOOKFLOW_ERR_INTERNAL: { status: 500, publicMessage: 'Internal server error' },
  /** Shed by admission control (event-loop delay, pending writes, memory budget); same answer as storage trouble. */
  HOOKFLOW_ERR_OVERLOADED: { status: 503, publicMessage: 'Service unavailable' },
  // Management API
  HOOKFLOW_ERR_UNAUTHORIZED: { status: 401, publicMessage: 'Unauthorized' },
  HOOKFLOW_ERR_NOT_FOUND: { status: 404, publicMessage: 'Not found' },
  HOOKFLOW_ERR_VALIDATION: { status: 400, publicMessage: 'Invalid request' },
  HOOKFLOW_ERR_CONFLICT: { status: 409, publicMessage: 'Conflict' },
  /** The caller's API token lacks the role the route needs, or is scoped to one workspace where the route spans all. */
  HOOKFLOW_ERR_FORBIDDEN_ROLE: { status: 403, publicMessage: 'Forbidden' },
  /** A write through a console session cookie without the session's CSRF token in `x-csrf-token`. */
  HOOKFLOW_ERR_CSRF: { status: 403, publicMessage: 'Missing or wrong CSRF token' },
  // Workflow runs (recorded on steps, never sent to webhook callers)
  HOOKFLOW_ERR_TEMPLATE: { status: 500, publicMessage: 'Template error' },
  HOOKFLOW_ERR_EXPRESSION: { status: 500, publicMessage: 'Expression error' },
  HOOKFLOW_ERR_STEP_FAILED: { status: 500, publicMessage: 'Step failed' },
  HOOKFLOW_ERR_EGRESS_REFUSED: { status: 500, publicMessage: 'Outbound address refused' },
  HOOKFLOW_ERR_SECRET_DESTINATION: { status: 500, publicMessage: 'Secret refused for this destination' },
  HOOKFLOW_ERR_SANDBOX: { status: 500, publicMessage: 'Script failed' },
  HOOKFLOW_ERR_LEASE_LOST: { status: 500, publicMessage: 'Lease lost' },
  HOOKFLOW_ERR_BUDGET_EXCEEDED: { status: 500, publicMessage: 'Budget exceeded' },
  HOOKFLOW_ERR_CONFIG: { status: 500, publicMessage: 'Invalid configuration' },
} as const satisfies Record<string, { status: number; publicMessage: string }>;

export type ErrorCode = keyof typeof ERRORS;

export interface HookflowErrorOptions {
  cause?: unknown;
  /** Details safe to show a management-API caller (e.g. which field failed validation). */
  details?: unknown;
  /** Whether a retry might succeed (network errors, 5xx answers, storage errors). */
  transient?: boolean;
  /** Seconds a caller should wait before retrying (sent as Retry-After). */
  retryAfterSeconds?: number;
}

/**
 * An error with a stable code. `message` is for logs and step records (it may name a
 * variable or a field, never a secret); the HTTP layer answers with the catalogue's
 * `publicMessage` unless the code is a management validation error with `details`.
 */
export class HookflowError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;
  readonly transient: boolean;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message?: string, options: HookflowErrorOptions = {}) {
    super(message ?? ERRORS[code].publicMessage, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HookflowError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = options.details;
    this.transient = options.transient ?? false;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  get publicMessage(): string {
    return ERRORS[this.code].publicMessage;
  }
}

/** Coerces anything thrown into an Error so it can be logged and wrapped with `{ cause }`. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : JSON.stringify(thrown));
}

export function isHookflowError(thrown: unknown, code?: ErrorCode): thrown is HookflowError {
  return thrown instanceof HookflowError && (code === undefined || thrown.code === code);
}
