import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { isHookflowError, toError } from '../errors/catalogue.js';
import type { AttemptRef, ClaimedRun, StepResultRecord, StepStatus, Store } from '../store/store.js';
import type { Metrics } from '../telemetry/metrics.js';
import { RUN_BYTES_PER_BODY_BYTE, type MemoryBudget, type Reservation } from '../util/memory-budget.js';
import type { WorkflowLabels } from '../telemetry/workflow-labels.js';
import { retryDelayAfterFailureMs, type BackoffOptions } from './backoff.js';

/**
 * Runs one claimed run's steps; throws (transient or not) when a step fails. Resolves with the
 * last step's result, which the pool stores together with the run's completion.
 */
export type RunSteps = (
  claimed: ClaimedRun,
  context: {
    ref: AttemptRef;
    signal: AbortSignal;
    checkpoint: (step: StepResultRecord) => Promise<boolean>;
    onStep: (type: string, status: StepStatus, usage?: Record<string, unknown> | null) => void;
    /** The run's share of the memory budget, released when the attempt ends. */
    reservation?: Reservation;
  },
) => Promise<StepResultRecord | undefined>;

export interface WorkerPoolOptions {
  store: Store;
  logger: Logger;
  metrics: Metrics;
  /** Per-workflow metric series (capped label pairs). */
  labels: WorkflowLabels;
  clock: () => number;
  /** Runs executed at once by this process. */
  concurrency: number;
  /** Lease per claim, ms; heartbeats renew it every third of it. */
  leaseMs: number;
  runSteps: RunSteps;
  /** Finished runs older than this are pruned, days; 0 keeps everything. */
  retentionDays: number;
  backoff?: BackoffOptions;
  /** Longest sleep between polls when idle, ms (wake-ups cut it short). Default 1000. */
  pollIntervalMs?: number;
  /**
   * Process-wide budget for bytes in flight: while it is full no run is claimed (a claim parses
   * the run's body into memory), and each running run holds its body's share until it ends.
   */
  budget?: MemoryBudget;
  /** On stop, how long in-flight runs may take to finish before they are released, ms. Default 10000. */
  shutdownGraceMs?: number;
  /** Called once a run this pool ran succeeded or failed for good (callers waiting for its result). */
  onRunFinished?: (runId: string) => void;
}

const STORAGE_BACKOFF_MS = 500;
/** First and longest pause between tries of a write the attempt must record, ms. */
const RECORD_RETRY_MIN_MS = 100;
const RECORD_RETRY_MAX_MS = 2000;
const MIN_IDLE_MS = 5;
/** Longest wait after claims that found due runs but none that could start. */
const MAX_EMPTY_BACKOFF_MS = 200;
const ABORT_GRACE_MS = 5000;
const PRUNE_EVERY_MS = 10 * 60_000;

/**
 * Claims runs from the store (the runs table is the queue) and executes them, up to
 * `concurrency` at once. Invariants: every claimed attempt ends in exactly one of complete,
 * fail (retry or dead letter) or release — in `finally`; a storage error never stops the
 * loop, it backs off and tries again; the lease is kept alive by heartbeats, and a lost lease
 * aborts the attempt, whose late writes the store then refuses (fencing).
 */
export class WorkerPool {
  readonly workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly inFlight = new Map<string, AbortController>();
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private woken = false;
  /** Claims in a row that got nothing (see claimLoop's backoff). */
  private emptyClaims = 0;
  private lastPrune = 0;
  private pruning = false;
  /** Aborted on stop: ends a wait for room in the memory budget. */
  private readonly stopping = new AbortController();

  constructor(private readonly options: WorkerPoolOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.claimLoop();
  }

  /** Cuts the idle sleep short: new work was queued. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Stops claiming; lets in-flight runs finish within the grace period, then releases them. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.stopping.abort();
    this.wake();
    await this.loop;
    const deadline = Date.now() + (this.options.shutdownGraceMs ?? 10_000);
    while (this.inFlight.size > 0 && Date.now() < deadline) await sleep(20);
    for (const controller of this.inFlight.values()) controller.abort();
    // An aborted run stops before its next step; one stuck inside a long step is not waited for
    // past this: its lease lapses and another worker resumes it after its last checkpoint.
    const abandonAt = Date.now() + ABORT_GRACE_MS;
    while (this.inFlight.size > 0 && Date.now() < abandonAt) await sleep(20);
  }

  private async claimLoop(): Promise<void> {
    const { store, logger, clock } = this.options;
    while (this.running) {
      const free = this.options.concurrency - this.inFlight.size;
      if (free <= 0) {
        // Full: a finishing run wakes the loop, so earlier wake-ups can be dropped.
        this.woken = false;
        await this.idle(this.options.pollIntervalMs ?? 1000);
        continue;
      }
      const { budget } = this.options;
      if (budget?.full() === true) {
        // Claims wait for room: a claimed run's body is parsed into memory at once.
        await budget.whenRoom(this.stopping.signal);
        continue;
      }
      // Past half the budget, one run at a time, so one claim cannot overshoot it by a batch of bodies.
      const limit = budget !== undefined && budget.usedBytes * 2 > budget.limitBytes ? 1 : free;
      let claimed: ClaimedRun[] = [];
      try {
        this.woken = false;
        claimed = await store.claimRuns({ workerId: this.workerId, limit, leaseMs: this.options.leaseMs, now: clock() });
      } catch (error) {
        logger.warn({ error: summary(error) }, 'claiming runs failed; backing off');
        await sleep(STORAGE_BACKOFF_MS);
        continue;
      }
      // At once: a claimed run's lease runs from the claim, and its heartbeat starts with it.
      for (const run of claimed) this.execute(run);
      this.maybePrune();
      // Nothing claimable although a run may be due (another node holds its row lock, or it waits
      // behind its key or its workflow's cap): don't spin; back off further each empty claim
      // until a wake-up (a run finished here, or one was queued) or the poll interval.
      this.emptyClaims = claimed.length === 0 ? this.emptyClaims + 1 : 0;
      if (claimed.length === 0 && !this.woken) {
        const untilDue = await this.sleepBudget();
        await this.idle(untilDue > 0 ? Math.max(MIN_IDLE_MS, untilDue) : Math.min(MIN_IDLE_MS * 2 ** Math.min(this.emptyClaims - 1, 16), MAX_EMPTY_BACKOFF_MS));
      }
      else if (claimed.length < free && !this.woken) await this.idle(await this.sleepBudget());
    }
  }

  private async sleepBudget(): Promise<number> {
    const poll = this.options.pollIntervalMs ?? 1000;
    try {
      const due = await this.options.store.nextDueAt();
      return due === null ? poll : Math.max(0, Math.min(poll, due - this.options.clock()));
    } catch {
      return poll;
    }
  }

  private idle(ms: number): Promise<void> {
    if (this.woken || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = null;
        done();
      };
    });
  }

  private execute(claimed: ClaimedRun): void {
    const { store, logger, metrics, clock, leaseMs } = this.options;
    const { run } = claimed;
    const ref: AttemptRef = { runId: run.id, attempt: run.attempts, workerId: this.workerId };
    const series = this.options.labels.of(run.workspaceId, run.workflowId);
    const controller = new AbortController();
    // Taken already (the claim parsed the body), so reserved whether it fits or not: later claims wait for it.
    const reservation = this.options.budget?.reserve(bodyBytesOf(claimed) * RUN_BYTES_PER_BODY_BYTE);
    this.inFlight.set(run.id, controller);
    metrics.runsInFlight.inc();
    if (run.attempts === 1) metrics.queueLagSeconds.observe(Math.max(0, clock() - run.createdAt) / 1000);
    // Until when the stored lease surely holds: from the claim, then from each heartbeat that
    // committed (counted from when it was sent). Past it another worker may have taken the run.
    const lease = { validUntil: run.leaseExpiresAt ?? clock() + leaseMs };
    const heartbeat = setInterval(() => {
      const sentAt = clock();
      store.heartbeat(ref, sentAt + leaseMs).then(
        (owned) => {
          if (!owned) controller.abort();
          else lease.validUntil = Math.max(lease.validUntil, sentAt + leaseMs);
        },
        (error: unknown) => {
          logger.warn({ error: summary(error), runId: run.id }, 'heartbeat failed');
          // Stop before the next step rather than run alongside the worker that recovers it.
          if (clock() >= lease.validUntil) controller.abort();
        },
      );
    }, Math.max(100, Math.floor(leaseMs / 3)));
    const record = <T>(write: () => Promise<T>): Promise<T> => this.recordWhileLeased(write, lease, run.id);

    const attempt = async (): Promise<void> => {
      try {
        const finalStep = await this.options.runSteps(claimed, {
          ref,
          signal: controller.signal,
          checkpoint: (step) => record(() => store.checkpointStep(ref, step)),
          onStep: (type, status, usage) => series.countStep(type, status, usage),
          ...(reservation === undefined ? {} : { reservation }),
        });
        if (await record(() => store.completeRun(ref, clock(), finalStep))) {
          series.countRunFinished('succeeded');
          this.options.onRunFinished?.(ref.runId);
        }
      } catch (thrown) {
        await this.settleFailure(claimed, ref, thrown, controller.signal.aborted && !this.running, record);
      }
    };
    attempt()
      .catch((error: unknown) =>
        logger.error(
          { err: error, runId: run.id, leaseExpiresAt: new Date(lease.validUntil).toISOString() },
          'could not record the outcome of a run; it runs again once its lease expires, repeating the side effects of its steps since the last checkpoint',
        ),
      )
      .finally(() => {
        clearInterval(heartbeat);
        reservation?.release();
        this.inFlight.delete(run.id);
        metrics.runsInFlight.dec();
        this.wake();
      });
  }

  /**
   * Runs a write the attempt must record (checkpoint, completion, failure, release). A transient
   * storage failure is tried again, with backoff, for as long as the lease surely holds: giving
   * up earlier would leave the run to be recovered and executed a second time although the
   * store only needed a moment (a busy writer, a brief outage).
   */
  private async recordWhileLeased<T>(write: () => Promise<T>, lease: { validUntil: number }, runId: string): Promise<T> {
    const { clock, logger } = this.options;
    for (let delay = RECORD_RETRY_MIN_MS; ; delay = Math.min(delay * 2, RECORD_RETRY_MAX_MS)) {
      try {
        return await write();
      } catch (error) {
        if (!isHookflowError(error) || !error.transient || clock() + delay >= lease.validUntil) throw error;
        logger.warn({ error: summary(error), runId, retryInMs: delay }, 'could not record a run\'s progress; trying again while its lease holds');
        await sleep(delay);
      }
    }
  }

  private async settleFailure(claimed: ClaimedRun, ref: AttemptRef, thrown: unknown, shuttingDown: boolean, record: <T>(write: () => Promise<T>) => Promise<T>): Promise<void> {
    const { store, logger, clock } = this.options;
    if (shuttingDown) {
      // Stopped mid-run by a graceful shutdown: give the attempt back unused.
      await record(() => store.releaseRun(ref));
      return;
    }
    const error = toError(thrown);
    const transient = isHookflowError(error) ? error.transient : false;
    const message = summary(error);
    const canRetry = transient && ref.attempt < claimed.run.maxAttempts;
    const retryAfterMs = isHookflowError(error) && error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : 0;
    const retryAt = canRetry ? clock() + retryDelayAfterFailureMs(ref.attempt, retryAfterMs, this.options.backoff) : null;
    const recorded = await record(() => store.failRun(ref, message, retryAt, clock()));
    if (recorded && retryAt === null) {
      this.options.labels.of(claimed.run.workspaceId, claimed.run.workflowId).countRunFinished('failed');
      this.options.onRunFinished?.(ref.runId);
    }
    const outcome = retryAt === null ? 'run failed' : 'run attempt failed; retrying';
    const { run } = claimed;
    const fields = { workspace: run.workspaceId, workflow: run.workflowId, runId: ref.runId, attempt: ref.attempt, transient, retryAt };
    // A step failing (an API answering 500, a script throwing) is the workflow's business, not a
    // bug here: a warning with its code and message, no stack. Anything else is ours: an error with the stack.
    if (isHookflowError(error)) logger.warn({ ...fields, code: error.code, error: error.message }, outcome);
    else logger.error({ ...fields, err: error }, outcome);
  }

  /**
   * Retention, in the background: a sweep may take minutes on a large database, and neither
   * claiming nor the runs just claimed may wait for it (their leases would lapse and another
   * worker would run them again).
   */
  private maybePrune(): void {
    const { retentionDays, clock, store, logger } = this.options;
    const now = clock();
    if (retentionDays <= 0 || this.pruning || now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    this.pruning = true;
    store
      .prune(now - retentionDays * 86_400_000, now)
      .then((pruned) => {
        if (pruned.runs + pruned.events > 0) logger.info(pruned, 'pruned old runs and events');
      })
      .catch((error: unknown) => logger.warn({ error: summary(error) }, 'pruning old runs failed; trying again later'))
      .finally(() => {
        this.pruning = false;
      });
  }
}

/** The received body's size, as ingest recorded it in the `webhook` metadata (0 when unknown). */
function bodyBytesOf(claimed: ClaimedRun): number {
  const bytes = claimed.event.meta['bodyBytes'];
  return typeof bytes === 'number' && Number.isFinite(bytes) ? bytes : 0;
}

/** An error as one line for a log or a run record: its code and message, never its stack. */
function summary(thrown: unknown): string {
  const error = toError(thrown);
  return isHookflowError(error) ? `${error.code}: ${error.message}` : error.message;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
