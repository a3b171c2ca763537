import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the queue gauges show, read from the store on each scrape. */
export interface QueueSnapshot {
  /** Runs with status `queued`. */
  depth: number;
  /** Seconds the oldest due queued run has waited (0 when none). */
  oldestAgeSeconds: number;
}

/** Every Prometheus metric hookflow exports, on a registry of its own (no global state). */
export class Metrics {
  readonly registry = new Registry();
  private readQueue: (() => Promise<QueueSnapshot>) | null = null;
  private pendingQueueRead: Promise<QueueSnapshot> | null = null;

  /**
   * Webhook calls by workflow and answer: accepted, duplicate, test, or the rejection reason.
   * `workspace`/`workflow` are bounded by WorkflowLabels (see workflow-labels.ts).
   */
  readonly webhooks = new Counter({
    name: 'hookflow_webhooks_total',
    help: 'Webhook calls by workspace, workflow and outcome',
    labelNames: ['workspace', 'workflow', 'outcome'] as const,
    registers: [this.registry],
  });

  /** Time from request start to answer for accepted webhooks, including the durable commit. */
  readonly ingestSeconds = new Histogram({
    name: 'hookflow_ingest_duration_seconds',
    help: 'Webhook ingest latency (accepted calls), by workspace and workflow, seconds',
    labelNames: ['workspace', 'workflow'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  /** Rejected calls by status and reason (all of them, even those the sampled log skips). */
  readonly rejected = new Counter({
    name: 'hookflow_rejected_calls_total',
    help: 'Rejected webhook calls by status and reason',
    labelNames: ['status', 'reason'] as const,
    registers: [this.registry],
  });

  /** Runs finished by workflow and final status. */
  readonly runsFinished = new Counter({
    name: 'hookflow_runs_finished_total',
    help: 'Runs finished, by workspace, workflow and status',
    labelNames: ['workspace', 'workflow', 'status'] as const,
    registers: [this.registry],
  });

  /** Step executions by workflow, type and status. */
  readonly steps = new Counter({
    name: 'hookflow_steps_total',
    help: 'Step executions by workspace, workflow, type and status',
    labelNames: ['workspace', 'workflow', 'type', 'status'] as const,
    registers: [this.registry],
  });

  /** LLM tokens as the provider reported them, by workflow and kind (prompt, completion). */
  readonly llmTokens = new Counter({
    name: 'hookflow_llm_tokens_total',
    help: 'LLM tokens used by LLM steps, by workspace, workflow and kind',
    labelNames: ['workspace', 'workflow', 'kind'] as const,
    registers: [this.registry],
  });

  /** Runs waiting in the queue (due or backing off), read from the store on scrape. */
  readonly queueDepth = new Gauge({
    name: 'hookflow_queue_depth',
    help: 'Runs queued (waiting for a worker or for a retry), from the store',
    registers: [this.registry],
    collect: async () => {
      const snapshot = await this.queueSnapshot();
      if (snapshot !== null) this.queueDepth.set(snapshot.depth);
    },
  });

  /** How long the oldest due run has waited for a worker, read from the store on scrape. */
  readonly queueOldestAge = new Gauge({
    name: 'hookflow_queue_oldest_age_seconds',
    help: 'Age of the oldest queued run that is due (0 when none), seconds, from the store',
    registers: [this.registry],
    collect: async () => {
      const snapshot = await this.queueSnapshot();
      if (snapshot !== null) this.queueOldestAge.set(snapshot.oldestAgeSeconds);
    },
  });

  /** Time from accepted to first started, seconds. */
  readonly queueLagSeconds = new Histogram({
    name: 'hookflow_queue_lag_seconds',
    help: 'Time from webhook accepted to run started, seconds',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
    registers: [this.registry],
  });

  /** Runs currently executing in this process. */
  readonly runsInFlight = new Gauge({
    name: 'hookflow_runs_in_flight',
    help: 'Runs executing in this process',
    registers: [this.registry],
  });

  /** Webhooks answered 503 by admission control, by reason (event_loop_delay, pending_writes, memory_budget). */
  readonly shed = new Counter({
    name: 'hookflow_webhooks_shed_total',
    help: 'Webhooks answered 503 by admission control, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  /** Reads the memory budget's reserved bytes at scrape time (see `watchMemoryBudget`). */
  private budgetReader: () => number = () => 0;

  /** Bytes reserved in the memory budget now, read at each scrape. */
  readonly memoryBudgetUsed: Gauge = new Gauge({
    name: 'hookflow_memory_budget_used_bytes',
    help: 'Bytes in flight reserved in the memory budget',
    registers: [this.registry],
    collect: (): void => this.memoryBudgetUsed.set(this.budgetReader()),
  });

  /** Names the figure the budget gauge reports. */
  watchMemoryBudget(read: () => number): void {
    this.budgetReader = read;
  }

  /** Where `hookflow_pending_writes` reads from (the store), set by `watchPendingWrites`. */
  private readPending: (() => { queued: number; urgent: number }) | undefined;

  /** Writes waiting for a commit, read from the store at each scrape. */
  readonly pendingWrites: Gauge<'kind'> = new Gauge({
    name: 'hookflow_pending_writes',
    help: 'Writes waiting for a commit: queued (counted against HOOKFLOW_MAX_PENDING_WRITES) and urgent (worker writes, never refused)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
    collect: () => {
      const pending = this.readPending?.();
      if (pending === undefined) return;
      this.pendingWrites.set({ kind: 'queued' }, pending.queued);
      this.pendingWrites.set({ kind: 'urgent' }, pending.urgent);
    },
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'hookflow_' });
  }

  /** Makes `hookflow_pending_writes` report `read()` at each scrape (cheap: two counters). */
  watchPendingWrites(read: () => { queued: number; urgent: number }): void {
    this.readPending = read;
  }

  /**
   * One store read per scrape for both queue gauges: the registry collects metrics concurrently,
   * so both ask while the first read is under way and share it.
   */
  private queueSnapshot(): Promise<QueueSnapshot | null> {
    if (this.readQueue === null) return Promise.resolve(null);
    this.pendingQueueRead ??= this.readQueue().finally(() => {
      this.pendingQueueRead = null;
    });
    return this.pendingQueueRead;
  }

  /** Where the queue gauges come from (the store); without it they stay 0. */
  watchQueue(read: () => Promise<QueueSnapshot>): void {
    this.readQueue = read;
  }
}
