import type { Pool } from 'pg';
import { HookflowError } from '../../errors/catalogue.js';
import type { RunRecord } from '../store.js';
import { isUniqueViolation } from './pg-errors.js';
import { withTransaction } from './pg-pool.js';
import { RETENTION_LOCK_SHARED } from './prune.js';
import { notifyIfAny } from './run-notifier.js';
import { toRun, type RunRow } from '../rows.js';

/**
 * Queues a new run of an existing run's event on the workflow's latest version, in one
 * statement. Nothing is written when the run is unknown or its workflow was deleted.
 */
const REPLAY_SQL = `
  WITH original AS (
    SELECT r.id, r.workspace_id, r.workflow_id, r.event_id, r.max_attempts, r.concurrency_key, w.latest_version
    FROM runs r JOIN workflows w ON w.workspace_id = r.workspace_id AND w.id = r.workflow_id AND w.deleted_at IS NULL
    JOIN events e ON e.id = r.event_id
    WHERE r.workspace_id = $1 AND r.id = $2
  ),
  created AS (
    INSERT INTO runs (id, workspace_id, workflow_id, workflow_version, event_id, status, attempts, max_attempts, created_at, available_at, replay_of, concurrency_key)
    SELECT $3, workspace_id, workflow_id, latest_version, event_id, 'queued', 0, max_attempts, $4, $4, id, concurrency_key FROM original
    RETURNING *
  )
  SELECT created.*, ${notifyIfAny('created')} AS notified FROM created`;

/**
 * See `Store.replayRun`; null when the run, its event or its workflow is unknown. Holds the
 * retention lock shared: a sweep running meanwhile would not see the new run (its statement's
 * snapshot predates it) and could delete the event under it, so the two take turns.
 */
export async function replayRun(pool: Pool, args: { workspaceId: string; runId: string; newRunId: string; now: number }): Promise<RunRecord | null> {
  return withTransaction(pool, 'replay', async (client) => {
    await client.query(RETENTION_LOCK_SHARED);
    try {
      const { rows } = await client.query<RunRow>(REPLAY_SQL, [args.workspaceId, args.runId, args.newRunId, args.now]);
      const row = rows[0];
      return row === undefined ? null : toRun(row);
    } catch (error) {
      if (isUniqueViolation(error)) throw new HookflowError('HOOKFLOW_ERR_CONFLICT', `Run "${args.newRunId}" already exists`, { cause: error });
      throw error;
    }
  });
}

const RESUME_SQL = `
  WITH target AS (
    SELECT r.id, r.status, CASE WHEN $3 THEN w.latest_version ELSE r.workflow_version END AS version
    FROM runs r LEFT JOIN workflows w ON w.workspace_id = r.workspace_id AND w.id = r.workflow_id AND w.deleted_at IS NULL
    WHERE r.workspace_id = $1 AND r.id = $2
    FOR UPDATE OF r
  ),
  resumed AS (
    UPDATE runs SET status = 'queued', available_at = $4, finished_at = NULL, max_attempts = runs.attempts + runs.max_attempts, workflow_version = target.version
    FROM target WHERE runs.id = target.id AND target.status = 'failed' AND target.version IS NOT NULL
    RETURNING runs.*
  )
  SELECT target.status AS found_status, target.version AS found_version, resumed.*, ${notifyIfAny('resumed')} AS notified
  FROM target LEFT JOIN resumed ON TRUE`;

/** See `Store.resumeRun`. */
export async function resumeRun(pool: Pool, args: { workspaceId: string; runId: string; latestVersion: boolean; now: number }): Promise<RunRecord | null> {
  const { rows } = await pool.query<RunRow & { found_status: string; found_version: number | null }>(RESUME_SQL, [args.workspaceId, args.runId, args.latestVersion, args.now]);
  const row = rows[0];
  if (row === undefined || row.found_version === null) return null;
  if (row.id === null) throw new HookflowError('HOOKFLOW_ERR_CONFLICT', `Run "${args.runId}" is ${row.found_status}: only a failed run can be resumed`);
  return toRun(row);
}
