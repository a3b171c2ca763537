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
    SELECT r.id, r.workspace_id, r.workflow_id, r.event_id, r.max_attempts, w.latest_version
    FROM runs r JOIN workflows w ON w.workspace_id = r.workspace_id AND w.id = r.workflow_id AND w.deleted_at IS NULL
    JOIN events e ON e.id = r.event_id
    WHERE r.workspace_id = $1 AND r.id = $2
  ),
  created AS (
    INSERT INTO runs (id, workspace_id, workflow_id, workflow_version, event_id, status, attempts, max_attempts, created_at, available_at, replay_of)
    SELECT $3, workspace_id, workflow_id, latest_version, event_id, 'queued', 0, max_attempts, $4, $4, id FROM original
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
