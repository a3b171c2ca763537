import type { Pool } from 'pg';
import { HookflowError } from '../../errors/catalogue.js';
import type { RunRecord } from '../store.js';
import { isUniqueViolation, storageError } from './pg-errors.js';
import { notifyIfAny } from './run-notifier.js';
import { toRun, type RunRow } from '../rows.js';

/**
 * Queues a new run of an existing run's event on the workflow's latest version, in one
 * statement. Nothing is written when the run is unknown or its workflow was deleted.
 */
const REPLAY_SQL = `
  WITH original AS (
    SELECT r.id, r.workspace_id, r.workflow_id, r.event_id, r.max_attempts, w.latest_version
    FROM runs r JOIN workflows w ON w.workspace_id = r.workspace_id AND w.id = r.workflow_id AND w.deleted_at IS NULL
    WHERE r.workspace_id = $1 AND r.id = $2
  ),
  created AS (
    INSERT INTO runs (id, workspace_id, workflow_id, workflow_version, event_id, status, attempts, max_attempts, created_at, available_at, replay_of)
    SELECT $3, workspace_id, workflow_id, latest_version, event_id, 'queued', 0, max_attempts, $4, $4, id FROM original
    RETURNING *
  )
  SELECT created.*, ${notifyIfAny('created')} AS notified FROM created`;

/** See `Store.replayRun`; null when the run or its workflow is unknown. */
export async function replayRun(pool: Pool, args: { workspaceId: string; runId: string; newRunId: string; now: number }): Promise<RunRecord | null> {
  try {
    const { rows } = await pool.query<RunRow>(REPLAY_SQL, [args.workspaceId, args.runId, args.newRunId, args.now]);
    const row = rows[0];
    return row === undefined ? null : toRun(row);
  } catch (error) {
    if (isUniqueViolation(error)) throw new HookflowError('HOOKFLOW_ERR_CONFLICT', `Run "${args.newRunId}" already exists`, { cause: error });
    throw storageError(error, 'replay');
  }
}
