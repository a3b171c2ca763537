import type { Pool, QueryConfig } from 'pg';
import { HookflowError } from '../../errors/catalogue.js';
import type { IngestRecord, IngestResult, PendingWrites } from '../store.js';
import { isUniqueViolation, storageError, unavailable } from './pg-errors.js';
import { notifyIfAny } from './run-notifier.js';

/**
 * Writes a whole batch of webhooks in ONE statement, hence one round trip and one commit:
 * 1. `keys` claims each idempotency key with INSERT … ON CONFLICT. A live key (expires_at > the
 *    call's `now`) keeps its row, which RETURNING hands back, so the caller learns the first
 *    delivery's ids; an expired key is taken over. Keys are inserted in key order so two nodes
 *    writing overlapping keys lock them in the same order and cannot deadlock. The conflict
 *    path rewrites a live row with its own values on purpose: that locks it and returns it even
 *    when it was committed by another node after this statement's snapshot was taken.
 * 2. Only calls without a key or whose key now points at their own event are `accepted`; their
 *    events and queued runs are inserted.
 * 3. One NOTIFY wakes workers on every node when any run was queued.
 * The batch's arrays are 18 parameters whatever its size, so it never nears the bind limit.
 */
const INGEST_SQL = `
  WITH input AS (
    SELECT * FROM unnest(
      $1::int[], $2::text[], $3::text[], $4::text[], $5::int[], $6::bigint[], $7::boolean[], $8::text[],
      $9::text[], $10::text[], $11::text[], $12::text[], $13::int[], $14::text[], $15::bigint[], $16::bigint[],
      $17::boolean[], $18::text[]
    ) AS t(idx, event_id, workspace_id, workflow_id, workflow_version, received_at, test, headers,
           body, meta, event_key, run_id, max_attempts, idem_key, idem_expires_at, now, filtered, concurrency_key)
  ),
  keys AS (
    INSERT INTO idempotency_keys AS k (workspace_id, workflow_id, key, event_id, run_id, expires_at)
    SELECT workspace_id, workflow_id, idem_key, event_id, run_id, idem_expires_at
    FROM input WHERE idem_key IS NOT NULL
    ORDER BY workspace_id, workflow_id, idem_key
    ON CONFLICT (workspace_id, workflow_id, key) DO UPDATE SET (event_id, run_id, expires_at) = (
      SELECT CASE WHEN k.expires_at > i.now THEN k.event_id ELSE EXCLUDED.event_id END,
             CASE WHEN k.expires_at > i.now THEN k.run_id ELSE EXCLUDED.run_id END,
             CASE WHEN k.expires_at > i.now THEN k.expires_at ELSE EXCLUDED.expires_at END
      FROM input i
      WHERE i.workspace_id = EXCLUDED.workspace_id AND i.workflow_id = EXCLUDED.workflow_id AND i.idem_key = EXCLUDED.key
    )
    RETURNING k.workspace_id, k.workflow_id, k.key, k.event_id, k.run_id
  ),
  accepted AS (
    SELECT i.* FROM input i
    WHERE i.idem_key IS NULL OR EXISTS (SELECT 1 FROM keys WHERE keys.event_id = i.event_id)
  ),
  written_events AS (
    INSERT INTO events (id, workspace_id, workflow_id, workflow_version, received_at, test, filtered, headers, body, meta, idempotency_key)
    SELECT event_id, workspace_id, workflow_id, workflow_version, received_at, test, filtered, headers, body, meta, event_key FROM accepted
  ),
  written_runs AS (
    INSERT INTO runs (id, workspace_id, workflow_id, workflow_version, event_id, status, attempts, max_attempts, created_at, available_at, concurrency_key)
    SELECT run_id, workspace_id, workflow_id, workflow_version, event_id, 'queued', 0, max_attempts, received_at, received_at, concurrency_key
    FROM accepted WHERE run_id IS NOT NULL ORDER BY idx
    RETURNING id
  )
  SELECT i.idx, k.event_id AS key_event_id, k.run_id AS key_run_id, ${notifyIfAny('written_runs')} AS notified
  FROM input i
  LEFT JOIN keys k ON k.workspace_id = i.workspace_id AND k.workflow_id = i.workflow_id AND k.key = i.idem_key`;

interface Call {
  record: IngestRecord;
  now: number;
}

/**
 * Writes `calls` (at most one per idempotency key: the batcher settles in-batch repeats itself)
 * in one statement and returns each call's result, in order. Throws what `pg` threw.
 */
async function writeBatch(pool: Pool, calls: readonly Call[], timeoutMs: number): Promise<IngestResult[]> {
  const columns: unknown[][] = Array.from({ length: 18 }, () => []);
  calls.forEach(({ record, now }, index) => {
    const { event, run, idempotency } = record;
    const row = [
      index, event.id, event.workspaceId, event.workflowId, event.workflowVersion, event.receivedAt, event.test, event.headersJson,
      event.bodyJson, event.metaJson, event.idempotencyKey, run?.id ?? null, run?.maxAttempts ?? null, idempotency?.key ?? null,
      idempotency?.expiresAt ?? null, now, event.filtered === true, run?.concurrencyKey ?? null,
    ];
    row.forEach((value, column) => columns[column]?.push(value));
  });
  // query_timeout: a stalled server must not hold the batch (and every call queued behind it)
  // forever; pg then discards the connection.
  const query: QueryConfig & { query_timeout: number } = { name: 'hookflow_ingest', text: INGEST_SQL, values: columns, query_timeout: timeoutMs };
  const { rows } = await pool.query<{ idx: number; key_event_id: string | null; key_run_id: string | null }>(query);
  const results: IngestResult[] = [];
  for (const row of rows) {
    const { record } = calls[row.idx] as Call;
    if (record.idempotency === null || row.key_event_id === record.event.id) {
      results[row.idx] = { duplicate: false, eventId: record.event.id, runId: record.run?.id ?? null };
    } else if (row.key_event_id !== null) {
      results[row.idx] = { duplicate: true, eventId: row.key_event_id, runId: row.key_run_id };
    } else {
      // The key row is inserted or locked by this very statement, so RETURNING always has it.
      throw new HookflowError('HOOKFLOW_ERR_INTERNAL', 'Idempotency key row missing from the ingest result');
    }
  }
  return results;
}

/** Options of IngestBatcher. */
export interface IngestBatcherOptions {
  pool: Pool;
  /** Calls allowed to wait for a commit; more are refused at once with STORAGE_UNAVAILABLE (→ 503). */
  maxPending: number;
  /** A call not committed within this is answered STORAGE_UNAVAILABLE (→ 503), ms. */
  timeoutMs: number;
  /** Most calls written by one statement. Default 1000. */
  maxBatch?: number;
}

interface Pending extends Call {
  resolve: (result: IngestResult) => void;
  reject: (error: Error) => void;
  deadline: number;
  settled: boolean;
}

const SWEEP_INTERVAL_MS = 100;

/**
 * Group commit for `ingest`. Calls made in one event-loop turn are written by one statement;
 * while it commits, new calls queue and go together in the next one, so under load batches
 * grow and commits per second stay flat. One batch is in flight at a time: that keeps calls
 * committed in arrival order (the earlier of two same-key calls is the one accepted) and leaves
 * the rest of the pool to workers and reads. Each call settles only after its batch committed,
 * or with STORAGE_UNAVAILABLE — never left hanging.
 */
export class IngestBatcher {
  private queue: Pending[] = [];
  private inFlight: Pending[] = [];
  private pendingCount = 0;

  private scheduled = false;
  private committing = false;
  private closing = false;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: IngestBatcherOptions) {
    this.sweeper = setInterval(() => this.expireOverdue(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  /** Ingests waiting for their batch to commit. Worker writes do not queue here (they use the pool directly). */
  pendingWrites(): PendingWrites {
    return { queued: this.pendingCount, urgent: 0, limit: this.options.maxPending };
  }

  /** Queues one call for the next batch; resolves after that batch committed. */
  submit(record: IngestRecord, now: number): Promise<IngestResult> {
    if (this.closing) return Promise.reject(unavailable('Store is closing'));
    if (this.pendingCount >= this.options.maxPending) return Promise.reject(unavailable('Too many writes waiting for a commit'));
    return new Promise<IngestResult>((resolve, reject) => {
      this.pendingCount += 1;
      this.queue.push({ record, now, resolve, reject, deadline: Date.now() + this.options.timeoutMs, settled: false });
      if (!this.scheduled && !this.committing) {
        this.scheduled = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  /** Lets queued calls commit (bounded by the write timeout), then refuses the rest. */
  async close(): Promise<void> {
    this.closing = true;
    const deadline = Date.now() + this.options.timeoutMs;
    while (this.pendingCount > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    clearInterval(this.sweeper);
    for (const pending of this.queue) this.fail(pending, unavailable('Store closed'));
    this.queue = [];
  }

  private async drain(): Promise<void> {
    this.scheduled = false;
    this.committing = true;
    try {
      while (this.queue.length > 0) {
        // Calls already answered 503 by the sweeper are not written: their callers were told they failed.
        const batch = this.queue.splice(0, this.options.maxBatch ?? 1000).filter((pending) => !pending.settled);
        if (batch.length === 0) continue;
        this.inFlight = batch;
        try {
          await this.commit(batch);
        } catch (error) {
          // commit() settles every call itself; this only guards against a bug leaving callers hanging.
          for (const pending of batch) this.fail(pending, storageError(error, 'ingest'));
        }
        this.inFlight = [];
      }
    } finally {
      this.committing = false;
    }
  }

  private async commit(batch: Pending[]): Promise<void> {
    // Repeats of a key within the batch never reach the database: the first call is the
    // candidate and the repeats are its duplicates, exactly as if they had come one by one.
    const leaders: Pending[] = [];
    const followers: { pending: Pending; leader: Pending }[] = [];
    const byKey = new Map<string, Pending>();
    for (const pending of batch) {
      const { event } = pending.record;
      const key = pending.record.idempotency === null ? null : JSON.stringify([event.workspaceId, event.workflowId, pending.record.idempotency.key]);
      const leader = key === null ? undefined : byKey.get(key);
      if (leader !== undefined) {
        followers.push({ pending, leader });
        continue;
      }
      if (key !== null) byKey.set(key, pending);
      leaders.push(pending);
    }

    const outcomes = await this.writeLeaders(leaders);
    leaders.forEach((pending, index) => {
      const outcome = outcomes[index];
      if (outcome instanceof Error || outcome === undefined) this.fail(pending, outcome ?? new HookflowError('HOOKFLOW_ERR_INTERNAL', 'Ingest result missing'));
      else this.succeed(pending, outcome);
    });
    for (const { pending, leader } of followers) {
      const outcome = outcomes[leaders.indexOf(leader)];
      if (outcome instanceof Error || outcome === undefined) this.fail(pending, outcome ?? new HookflowError('HOOKFLOW_ERR_INTERNAL', 'Ingest result missing'));
      else this.succeed(pending, { duplicate: true, eventId: outcome.eventId, runId: outcome.runId });
    }
  }

  /**
   * One statement for all leaders. When it fails on a call's data (not on storage), each call is
   * retried alone so one bad call fails by itself — the role SQLite's per-call savepoint plays.
   */
  private async writeLeaders(leaders: Pending[]): Promise<(IngestResult | Error)[]> {
    try {
      return await writeBatch(this.options.pool, leaders, this.options.timeoutMs);
    } catch (error) {
      const failure = ingestError(error);
      if (failure.transient || leaders.length === 1) return leaders.map(() => failure);
    }
    const outcomes: (IngestResult | Error)[] = [];
    for (const leader of leaders) {
      try {
        outcomes.push((await writeBatch(this.options.pool, [leader], this.options.timeoutMs))[0] as IngestResult);
      } catch (error) {
        outcomes.push(ingestError(error));
      }
    }
    return outcomes;
  }

  private succeed(pending: Pending, result: IngestResult): void {
    if (pending.settled) return;
    pending.settled = true;
    this.pendingCount -= 1;
    pending.resolve(result);
  }

  private fail(pending: Pending, error: Error): void {
    if (pending.settled) return;
    pending.settled = true;
    this.pendingCount -= 1;
    pending.reject(error);
  }

  /**
   * Answers calls past their deadline, queued or in flight. An in-flight call answered here may
   * still commit; its sender saw a 503 and retries, and its idempotency key (if any) makes the
   * retry a duplicate — the same trade every timeout makes.
   */
  private expireOverdue(): void {
    const now = Date.now();
    for (const list of [this.inFlight, this.queue]) {
      for (const pending of list) {
        if (pending.deadline > now) break; // arrival order is deadline order
        this.fail(pending, unavailable('Commit did not finish in time'));
      }
    }
    this.queue = this.queue.filter((pending) => !pending.settled);
  }
}

function ingestError(error: unknown): HookflowError {
  if (isUniqueViolation(error)) return new HookflowError('HOOKFLOW_ERR_CONFLICT', 'Event or run id already exists', { cause: error });
  return storageError(error, 'ingest');
}
