import type { Pool } from 'pg';
import { longQuery, withTransaction } from './pg-pool.js';

/**
 * Retention in one statement (one transaction): finished runs created before $1 with their
 * steps, then events received before $1 that no remaining run points at (test events, and the
 * events of the runs just deleted: the CTEs share one snapshot, so `old_runs` is subtracted by
 * hand), rejected calls, test runs, webhook stats and alert history (with its deliveries) before $1, and
 * idempotency keys already expired at $2. Queued and running runs, and their events, are
 * never touched.
 */
const PRUNE_SQL = `
  WITH old_runs AS (
    DELETE FROM runs WHERE status IN ('succeeded', 'failed') AND created_at < $1 RETURNING id
  ),
  old_steps AS (
    DELETE FROM step_results WHERE run_id IN (SELECT id FROM old_runs)
  ),
  old_events AS (
    DELETE FROM events e
    WHERE e.received_at < $1
      AND NOT EXISTS (
        SELECT 1 FROM runs r WHERE r.event_id = e.id AND NOT EXISTS (SELECT 1 FROM old_runs o WHERE o.id = r.id)
      )
    RETURNING e.id
  ),
  old_rejected AS (
    DELETE FROM rejected_calls WHERE received_at < $1
  ),
  old_keys AS (
    DELETE FROM idempotency_keys WHERE expires_at < $2
  ),
  old_stats AS (
    DELETE FROM webhook_stats WHERE minute < $1
  ),
  old_test_runs AS (
    DELETE FROM test_runs WHERE created_at < $1
  ),
  old_alerts AS (
    DELETE FROM alert_history WHERE at < $1 RETURNING id
  ),
  old_deliveries AS (
    DELETE FROM alert_deliveries WHERE history_id IN (SELECT id FROM old_alerts)
  )
  SELECT (SELECT count(*) FROM old_runs)::int AS runs, (SELECT count(*) FROM old_events)::int AS events`;

/**
 * Taken by a retention sweep (exclusive) and by a replay (shared), per schema: a replay commits
 * a new run of an old event, which a sweep whose statement began earlier would not see.
 */
const RETENTION_LOCK_KEY = "hashtext('hookflow.retention'), hashtext(current_schema())";
export const RETENTION_LOCK_SHARED = `SELECT pg_advisory_xact_lock_shared(${RETENTION_LOCK_KEY})`;
const RETENTION_LOCK_EXCLUSIVE = `SELECT pg_advisory_xact_lock(${RETENTION_LOCK_KEY})`;

/**
 * See `Store.prune`. Expired idempotency keys are judged by `now` (wall clock), as in SQLite. The
 * sweep's statement starts after the retention lock is held, so it sees every replay committed
 * before it; replays wait for it to finish.
 */
export async function prune(pool: Pool, before: number, now: number): Promise<{ runs: number; events: number }> {
  return withTransaction(pool, 'prune', async (client) => {
    await client.query(longQuery(RETENTION_LOCK_EXCLUSIVE));
    const { rows } = await client.query<{ runs: number; events: number }>(longQuery(PRUNE_SQL, [before, now]));
    return rows[0] ?? { runs: 0, events: 0 };
  });
}
