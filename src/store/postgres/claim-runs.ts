import type { Pool } from 'pg';
import type { ClaimedRun, StepResultRecord } from '../store.js';
import { failRun, releaseRun } from './attempt-writes.js';
import { chooseClaims, type CandidateLoad, type ClaimCandidate } from '../claim-order.js';
import { storageError } from './pg-errors.js';
import { withTransaction } from './pg-pool.js';
import { toEvent, toRun, toStepResult, toWorkflow, WORKFLOW_SELECT, type EventRow, type RunRow, type StepRow, type WorkflowRow } from '../rows.js';

/**
 * A lapsed lease means its worker died: the run goes back to the queue (due now) while it has
 * attempts left, else it is dead-lettered. SKIP LOCKED: a run locked right now is being
 * heartbeated or finished by its owner, or recovered by another node — leave it to them.
 */
const RECOVER_SQL = `
  UPDATE runs r SET
    status = CASE WHEN r.attempts < r.max_attempts THEN 'queued' ELSE 'failed' END,
    available_at = CASE WHEN r.attempts < r.max_attempts THEN $1 ELSE r.available_at END,
    finished_at = CASE WHEN r.attempts < r.max_attempts THEN r.finished_at ELSE $1 END,
    last_error = CASE WHEN r.attempts < r.max_attempts THEN r.last_error
                      ELSE COALESCE(r.last_error, 'Worker lost its lease on the last attempt') END,
    lease_owner = NULL,
    lease_expires_at = NULL
  FROM (SELECT id FROM runs WHERE status = 'running' AND lease_expires_at < $1 FOR UPDATE SKIP LOCKED) AS expired
  WHERE r.id = expired.id`;

/** A claim's write: the next attempt, leased to $3 until $4, started at $1 unless it started before. */
const START_ATTEMPT = `status = 'running', attempts = r.attempts + 1, lease_owner = $3, lease_expires_at = $4, started_at = COALESCE(r.started_at, $1)`;

/**
 * Whether the run at hand (`runs`) is held to its key or its workflow's cap (claim-order.ts):
 * such runs are left to CLAIM_ORDERED_SQL.
 */
const CONSTRAINED_WORKFLOW = `SELECT 1 FROM workflows w WHERE w.workspace_id = runs.workspace_id AND w.id = runs.workflow_id
        AND (w.max_concurrent_runs IS NOT NULL OR (w.concurrency_limit IS NOT NULL AND runs.concurrency_key IS NOT NULL))`;

/**
 * Due runs held to a key or a cap, in queue order, with how busy their key and workflow are;
 * claim-order.ts picks the ones that may start. Runs only under ORDERED_CLAIM_LOCK, so each
 * claim sees every earlier claim committed: two nodes cannot both start the head of one key.
 * No row locks: CLAIM_CHOSEN_SQL re-checks `queued`, which settles a race with a resume.
 */
const CANDIDATES_SQL = `
  SELECT r.id, r.workspace_id AS "workspaceId", r.workflow_id AS "workflowId", r.concurrency_key AS "concurrencyKey", r.arrival,
    w.concurrency_limit AS "concurrencyLimit", w.max_concurrent_runs AS "maxConcurrentRuns",
    CASE WHEN r.concurrency_key IS NULL OR w.concurrency_limit IS NULL THEN 0 ELSE (
      SELECT count(*)::int FROM (SELECT 1 FROM runs o WHERE o.workspace_id = r.workspace_id AND o.workflow_id = r.workflow_id
        AND o.concurrency_key = r.concurrency_key AND o.status IN ('queued', 'running') AND o.arrival < r.arrival
        ORDER BY o.arrival DESC LIMIT w.concurrency_limit) AS ahead) END AS "aheadActive",
    CASE WHEN r.concurrency_key IS NULL OR w.concurrency_limit IS NULL THEN 0 ELSE (
      SELECT count(*)::int FROM runs o WHERE o.workspace_id = r.workspace_id AND o.workflow_id = r.workflow_id
        AND o.concurrency_key = r.concurrency_key AND o.status = 'running') END AS "keyRunning",
    CASE WHEN w.max_concurrent_runs IS NULL THEN 0 ELSE (
      SELECT count(*)::int FROM runs o WHERE o.workspace_id = r.workspace_id AND o.workflow_id = r.workflow_id AND o.status = 'running') END AS "workflowRunning"
  FROM runs r JOIN workflows w ON w.workspace_id = r.workspace_id AND w.id = r.workflow_id
  WHERE r.status = 'queued' AND r.available_at <= $1
    AND (w.max_concurrent_runs IS NOT NULL OR (w.concurrency_limit IS NOT NULL AND r.concurrency_key IS NOT NULL))
  ORDER BY r.available_at, r.id
  LIMIT $2`;

const CLAIM_CHOSEN_SQL = `
  UPDATE runs r SET ${START_ATTEMPT}
  WHERE r.id = ANY($2::text[]) AND r.status = 'queued'
  RETURNING r.*`;

/** Serialises ordered claims across every node sharing the schema (transaction-scoped). */
const ORDERED_CLAIM_LOCK = "SELECT pg_advisory_xact_lock(hashtext('hookflow.ordered-claim'), hashtext(current_schema()))";

/** Most queued runs one ordered claim looks at to find runs their key or cap lets start. */
const MAX_CLAIM_SCAN = 2000;

/**
 * Claims due runs, oldest first, and starts their next attempt. FOR UPDATE SKIP LOCKED lets
 * any number of workers on any number of nodes claim at once: each skips the rows another is
 * claiming, so no run is handed out twice and nobody waits. The runs_due index (available_at,
 * id) serves the ORDER BY, so the statement reads only the head of the queue.
 */
const CLAIM_SQL = `
  WITH due AS (
    SELECT id FROM runs
    WHERE status = 'queued' AND available_at <= $1
      AND NOT EXISTS (${CONSTRAINED_WORKFLOW})
    ORDER BY available_at, id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
  )
  UPDATE runs r SET ${START_ATTEMPT}
  FROM due
  WHERE r.id = due.id
  RETURNING r.*`;

/**
 * Recovers expired leases, claims up to `limit` due runs for `workerId`, and loads what each
 * needs to run (event, workflow version, steps finished by earlier attempts).
 */
export async function claimRuns(pool: Pool, options: { workerId: string; limit: number; leaseMs: number; now: number }): Promise<ClaimedRun[]> {
  const { workerId, limit, leaseMs, now } = options;
  // Measured from here: the recovery and unordered claim queries before the ordered claim take
  // time too (seconds under load), and `now` must account for it (see claimOrdered).
  const calledAt = Date.now();
  let claimed: RunRow[];
  try {
    await pool.query({ name: 'hookflow_recover_leases', text: RECOVER_SQL, values: [now] });
    claimed = (await pool.query<RunRow>({ name: 'hookflow_claim_runs', text: CLAIM_SQL, values: [now, limit, workerId, now + leaseMs] })).rows;
    if (claimed.length < limit) claimed = claimed.concat(await claimOrdered(pool, { workerId, limit: limit - claimed.length, leaseMs, now, calledAt }));
  } catch (error) {
    throw storageError(error, 'claim');
  }
  if (claimed.length === 0) return [];
  claimed.sort((a, b) => a.available_at - b.available_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  let loaded: Loaded;
  try {
    loaded = await loadClaimed(pool, claimed);
  } catch (error) {
    // We MUST give back what we claimed but cannot hand over, or each run would sit out a
    // lease and lose an attempt. Best effort: if this fails too, lease expiry recovers them.
    await Promise.all(claimed.map((run) => releaseRun(pool, { runId: run.id, attempt: run.attempts, workerId }).catch(() => false)));
    throw storageError(error, 'claim');
  }
  // A run whose event or workflow version is gone can never run; released, it would be claimed
  // again forever. Dead-letter it instead.
  for (const orphan of loaded.orphans) {
    await failRun(pool, { runId: orphan.id, attempt: orphan.attempts, workerId }, 'The run\'s event or workflow version no longer exists', null, now).catch(() => false);
  }
  // A run whose rows were read but cannot be understood is settled alone, its attempt counted
  // (retried after one lease, dead-lettered after the last): released, one such row would be
  // claimed first again and again, holding up the queue behind it.
  for (const { row, reason } of loaded.unreadable) {
    const retryAt = row.attempts < row.max_attempts ? now + leaseMs : null;
    await failRun(pool, { runId: row.id, attempt: row.attempts, workerId }, `Could not read the run's event or workflow: ${reason}`, retryAt, now).catch(() => false);
  }
  return loaded.ready;
}

/** Claims runs held to a key or a cap: see CANDIDATES_SQL. */
async function claimOrdered(pool: Pool, options: { workerId: string; limit: number; leaseMs: number; now: number; calledAt: number }): Promise<RunRow[]> {
  const { workerId, limit, leaseMs, calledAt } = options;
  return withTransaction(pool, 'claim', async (client) => {
    await client.query(ORDERED_CLAIM_LOCK);
    // `now` plus the time since the claim began (the queries before, the wait for the lock): a
    // run that waited for its key behind one completed meanwhile must not appear to start before
    // that one finished.
    const now = options.now + Math.max(0, Date.now() - calledAt);
    const candidates = (await client.query<ClaimCandidate & CandidateLoad>({ name: 'hookflow_claim_candidates', text: CANDIDATES_SQL, values: [now, MAX_CLAIM_SCAN] })).rows;
    const chosen = chooseClaims(candidates, limit, (candidate) => candidate as ClaimCandidate & CandidateLoad);
    if (chosen.length === 0) return [];
    return (await client.query<RunRow>({ name: 'hookflow_claim_chosen', text: CLAIM_CHOSEN_SQL, values: [now, chosen, workerId, now + leaseMs] })).rows;
  });
}

interface Loaded {
  ready: ClaimedRun[];
  orphans: RunRow[];
  unreadable: { row: RunRow; reason: string }[];
}

/** Maps rows one by one: a row that cannot be read is named in `broken`, with why, rather than failing the batch. */
function mapEach<R, T>(rows: R[], keyOf: (row: R) => string, map: (row: R) => T): { byKey: Map<string, T>; broken: Map<string, string> } {
  const byKey = new Map<string, T>();
  const broken = new Map<string, string>();
  for (const row of rows) {
    try {
      byKey.set(keyOf(row), map(row));
    } catch (error) {
      broken.set(keyOf(row), messageOf(error));
    }
  }
  return { byKey, broken };
}

async function loadClaimed(pool: Pool, claimed: RunRow[]): Promise<Loaded> {
  const runIds = claimed.map((run) => run.id);
  const [events, workflows, steps] = await Promise.all([
    pool.query<EventRow>('SELECT * FROM events WHERE id = ANY($1::text[])', [claimed.map((run) => run.event_id)]),
    pool.query<WorkflowRow>(
      `${WORKFLOW_SELECT} JOIN unnest($1::text[], $2::text[], $3::int[]) AS wanted(workspace_id, workflow_id, version)
         ON wanted.workspace_id = v.workspace_id AND wanted.workflow_id = v.workflow_id AND wanted.version = v.version`,
      [claimed.map((run) => run.workspace_id), claimed.map((run) => run.workflow_id), claimed.map((run) => run.workflow_version)],
    ),
    pool.query<StepRow>("SELECT * FROM step_results WHERE run_id = ANY($1::text[]) AND (status IN ('succeeded', 'skipped') OR continued) ORDER BY run_id, step_index", [runIds]),
  ]);
  const eventsRead = mapEach(events.rows, (row) => row.id, toEvent);
  const workflowsRead = mapEach(workflows.rows, (row) => versionKey(row.workspace_id, row.workflow_id, row.version), toWorkflow);
  const stepsByRun = new Map<string, StepResultRecord[]>();
  const brokenSteps = new Map<string, string>();
  for (const row of steps.rows) {
    try {
      const list = stepsByRun.get(row.run_id) ?? [];
      list.push(toStepResult(row));
      stepsByRun.set(row.run_id, list);
    } catch (error) {
      brokenSteps.set(row.run_id, messageOf(error));
    }
  }
  const ready: ClaimedRun[] = [];
  const orphans: RunRow[] = [];
  const unreadable: { row: RunRow; reason: string }[] = [];
  for (const row of claimed) {
    const workflowKey = versionKey(row.workspace_id, row.workflow_id, row.workflow_version);
    const reason = eventsRead.broken.get(row.event_id) ?? workflowsRead.broken.get(workflowKey) ?? brokenSteps.get(row.id);
    const event = eventsRead.byKey.get(row.event_id);
    const workflow = workflowsRead.byKey.get(workflowKey);
    if (reason !== undefined) unreadable.push({ row, reason });
    else if (event === undefined || workflow === undefined) orphans.push(row);
    else ready.push({ run: toRun(row), event, workflow, finishedSteps: stepsByRun.get(row.id) ?? [] });
  }
  return { ready, orphans, unreadable };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function versionKey(workspaceId: string, workflowId: string, version: number): string {
  return JSON.stringify([workspaceId, workflowId, version]);
}
