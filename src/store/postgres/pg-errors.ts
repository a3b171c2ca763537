import { DatabaseError } from 'pg';
import { HookflowError, toError } from '../../errors/catalogue.js';

/**
 * SQLSTATE classes a retry can get past: connection exceptions (08), transaction rollbacks such
 * as serialization failures and deadlocks (40), insufficient resources (53), operator
 * intervention such as shutdown or a cancelled statement (57), system errors (58).
 */
const TRANSIENT_CLASSES = new Set(['08', '40', '53', '57', '58']);
/** Single transient codes outside those classes: lock_not_available (lock_timeout). */
const TRANSIENT_CODES = new Set(['55P03']);

/** True for PostgreSQL's unique_violation: the caller turns it into HOOKFLOW_ERR_CONFLICT. */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof DatabaseError && error.code === '23505';
}

/**
 * Turns whatever a `pg` call threw into a HookflowError, keeping it as `cause`. Storage trouble
 * (refused or lost connections, timeouts, a full pool, a server going down) becomes
 * STORAGE_UNAVAILABLE with `transient: true`, which the HTTP layer answers 503 + Retry-After.
 * An error PostgreSQL raised about the statement itself is a bug of ours: INTERNAL.
 */
export function storageError(thrown: unknown, action: string): HookflowError {
  if (thrown instanceof HookflowError) return thrown;
  const error = toError(thrown);
  if (error instanceof DatabaseError) {
    const code = error.code ?? '';
    if (TRANSIENT_CLASSES.has(code.slice(0, 2)) || TRANSIENT_CODES.has(code)) {
      return unavailable(`PostgreSQL ${action} failed: ${error.message}`, error);
    }
    // character_not_in_repertoire: a NUL in text the caller sent (a name, a cursor). SQLite
    // stores it; PostgreSQL cannot, so it is the caller's input that is refused, never a 500.
    if (code === '22021') {
      return new HookflowError('HOOKFLOW_ERR_VALIDATION', 'Text with a NUL character cannot be stored', { details: ['a text value contains a NUL (\\u0000) character'], cause: error });
    }
    return new HookflowError('HOOKFLOW_ERR_INTERNAL', `PostgreSQL ${action} failed (${code}): ${error.message}`, { cause: error });
  }
  // Programming errors thrown on our side of the wire are not worth a retry.
  if (error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError) {
    return new HookflowError('HOOKFLOW_ERR_INTERNAL', `PostgreSQL ${action} failed: ${error.message}`, { cause: error });
  }
  // No SQLSTATE: the connection itself failed (ECONNREFUSED, reset, connect or read timeout, pool ended).
  return unavailable(`PostgreSQL ${action} failed: ${error.message}`, error);
}

/** STORAGE_UNAVAILABLE, transient: a retry later may succeed. */
export function unavailable(message: string, cause?: unknown): HookflowError {
  return new HookflowError('HOOKFLOW_ERR_STORAGE_UNAVAILABLE', message, { cause, transient: true });
}
