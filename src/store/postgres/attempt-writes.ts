import type { Pool } from 'pg';
import { serializeStep } from '../rows.js';
import type { AttemptRef, StepResultRecord } from '../store.js';
import { storageError } from './pg-errors.js';
import { notifyIfAny } from './run-notifier.js';

/*
 * Every write a worker makes while it holds a run, each one statement fenced by the attempt:
 * it changes the run only while the run is still `running` under this attempt number and this
 * worker. Once a lease lapsed and the run was recovered or re-claimed, the stale attempt's
 * writes match no row and report false — a late worker can never overwrite a newer attempt.
 */

/** The fence: $1 run id, $2 attempt, $3 worker id. */
const FENCE = `id = $1 AND attempts = $2 AND lease_owner = $3 AND status = 'running'`;

const HEARTBEAT_SQL = `UPDATE runs SET lease_expires_at = $4 WHERE ${FENCE}`;

/**
 * FOR SHARE holds off a concurrent recovery or re-claim (both UPDATE the run) until the step is
 * committed, and re-checks the fence if one committed first: the step is stored only while the
 * attempt still owns the run.
 */
const CHECKPOINT_SQL = `
  WITH owner AS (SELECT id FROM runs WHERE ${FENCE} FOR SHARE)
  INSERT INTO step_results (run_id, step_id, step_index, type, attempt, status, started_at, finished_at, output, memory_writes, error, logs, usage, condition, continued)
  SELECT owner.id, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17 FROM owner
  ON CONFLICT (run_id, step_id) DO UPDATE SET
    earlier_attempts = CASE WHEN step_results.attempt <> EXCLUDED.attempt
      THEN (step_results.earlier_attempts::jsonb || jsonb_build_array(jsonb_build_object('attempt', step_results.attempt, 'status', step_results.status,
        'startedAt', step_results.started_at, 'finishedAt', step_results.finished_at, 'error', step_results.error)))::text
      ELSE step_results.earlier_attempts END,
    step_index = EXCLUDED.step_index, type = EXCLUDED.type, attempt = EXCLUDED.attempt, status = EXCLUDED.status,
    started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at, output = EXCLUDED.output,
    memory_writes = EXCLUDED.memory_writes, error = EXCLUDED.error, logs = EXCLUDED.logs, usage = EXCLUDED.usage,
    condition = EXCLUDED.condition, continued = EXCLUDED.continued
  RETURNING run_id`;

const COMPLETE_SQL = `
  UPDATE runs SET status = 'succeeded', finished_at = $4, lease_owner = NULL, lease_expires_at = NULL, last_error = NULL
  WHERE ${FENCE}`;

const RETRY_SQL = `
  WITH retried AS (
    UPDATE runs SET status = 'queued', available_at = $4, lease_owner = NULL, lease_expires_at = NULL, last_error = $5
    WHERE ${FENCE} RETURNING id
  )
  SELECT (SELECT count(*) FROM retried)::int AS changed, ${notifyIfAny('retried')} AS notified`;

const DEAD_LETTER_SQL = `
  UPDATE runs SET status = 'failed', finished_at = $4, lease_owner = NULL, lease_expires_at = NULL, last_error = $5
  WHERE ${FENCE}`;

/** The attempt is handed back: it does not count, so attempts goes back down by one. */
const RELEASE_SQL = `
  WITH released AS (
    UPDATE runs SET status = 'queued', attempts = attempts - 1, lease_owner = NULL, lease_expires_at = NULL
    WHERE ${FENCE} RETURNING id
  )
  SELECT (SELECT count(*) FROM released)::int AS changed, ${notifyIfAny('released')} AS notified`;

const fence = (ref: AttemptRef): unknown[] => [ref.runId, ref.attempt, ref.workerId];

async function run(pool: Pool, action: string, name: string, text: string, values: unknown[]): Promise<{ rowCount: number; changed: number | undefined }> {
  try {
    const result = await pool.query<{ changed?: number }>({ name, text, values });
    return { rowCount: result.rowCount ?? 0, changed: result.rows[0]?.changed };
  } catch (error) {
    throw storageError(error, action);
  }
}

/** Extends the lease to `leaseExpiresAt`; false when the attempt no longer owns the run. */
export async function heartbeat(pool: Pool, ref: AttemptRef, leaseExpiresAt: number): Promise<boolean> {
  return (await run(pool, 'heartbeat', 'hookflow_heartbeat', HEARTBEAT_SQL, [...fence(ref), leaseExpiresAt])).rowCount > 0;
}

/** Stores (or replaces) a finished step; false when the attempt no longer owns the run. */
export async function checkpointStep(pool: Pool, ref: AttemptRef, step: StepResultRecord): Promise<boolean> {
  const s = serializeStep(step);
  const values = [
    ...fence(ref), s.stepId, s.stepIndex, s.type, s.attempt, s.status, s.startedAt, s.finishedAt,
    s.output, s.memoryWrites, s.error === null ? null : storableText(s.error), s.logs, s.usage,
    s.condition == null ? null : JSON.stringify(s.condition), s.continued === true,
  ];
  return (await run(pool, 'checkpoint', 'hookflow_checkpoint_step', CHECKPOINT_SQL, values)).rowCount > 0;
}

/** Marks the run succeeded; false when the attempt no longer owns the run. */
export async function completeRun(pool: Pool, ref: AttemptRef, now: number): Promise<boolean> {
  return (await run(pool, 'complete', 'hookflow_complete_run', COMPLETE_SQL, [...fence(ref), now])).rowCount > 0;
}

/** Queues the run again at `retryAt`, or dead-letters it when null; false when the attempt no longer owns the run. */
export async function failRun(pool: Pool, ref: AttemptRef, error: string, retryAt: number | null, now: number): Promise<boolean> {
  if (retryAt !== null) return (await run(pool, 'fail', 'hookflow_retry_run', RETRY_SQL, [...fence(ref), retryAt, storableText(error)])).changed === 1;
  return (await run(pool, 'fail', 'hookflow_dead_letter_run', DEAD_LETTER_SQL, [...fence(ref), now, storableText(error)])).rowCount > 0;
}

/**
 * An error message as PostgreSQL can store it: TEXT refuses a NUL character, which a script's
 * own error message may carry (SQLite keeps it). Without this, storing the step's failure would
 * itself fail and replace the script's error with a storage error.
 */
function storableText(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
}

/** Gives the run back without using up the attempt; false when the attempt no longer owns the run. */
export async function releaseRun(pool: Pool, ref: AttemptRef): Promise<boolean> {
  return (await run(pool, 'release', 'hookflow_release_run', RELEASE_SQL, fence(ref))).changed === 1;
}
