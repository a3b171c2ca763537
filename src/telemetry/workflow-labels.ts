import type { Metrics } from './metrics.js';

/** Label value of every pair past the cap (no workflow or workspace id can contain parentheses). */
export const OTHER_LABEL = '(other)';
/** Label value of a workflow id that names no workflow, or of a workspace that does not exist. */
export const UNKNOWN_LABEL = '(unknown)';

type Inc = { inc: (value?: number) => void };
type Observe = { observe: (value: number) => void };

/**
 * The metric children of one (workspace, workflow) label pair, bound once and cached, so the
 * ingest hot path increments a child instead of building a label object per request.
 */
export class WorkflowSeries {
  private readonly outcomes = new Map<string, Inc>();
  private readonly statuses = new Map<string, Inc>();
  private readonly steps = new Map<string, Inc>();
  private ingest: Observe | null = null;

  constructor(
    private readonly metrics: Metrics,
    /** The `workspace` label value. */
    readonly workspace: string,
    /** The `workflow` label value. */
    readonly workflow: string,
  ) {}

  /** One webhook call answered with `outcome` (accepted, duplicate, invalid_key, …). */
  countWebhook(outcome: string): void {
    let child = this.outcomes.get(outcome);
    if (child === undefined) {
      child = this.metrics.webhooks.labels(this.workspace, this.workflow, outcome);
      this.outcomes.set(outcome, child);
    }
    child.inc();
  }

  /** Ingest latency of an accepted call, seconds. */
  observeIngest(seconds: number): void {
    this.ingest ??= this.metrics.ingestSeconds.labels(this.workspace, this.workflow);
    this.ingest.observe(seconds);
  }

  /** A run reached a final status. */
  countRunFinished(status: 'succeeded' | 'failed'): void {
    let child = this.statuses.get(status);
    if (child === undefined) {
      child = this.metrics.runsFinished.labels(this.workspace, this.workflow, status);
      this.statuses.set(status, child);
    }
    child.inc();
  }

  /** A step finished; LLM token usage, when the step reported it, is added too. */
  countStep(type: string, status: string, usage?: Record<string, unknown> | null): void {
    const key = `${type}\u0000${status}`;
    let child = this.steps.get(key);
    if (child === undefined) {
      child = this.metrics.steps.labels(this.workspace, this.workflow, type, status);
      this.steps.set(key, child);
    }
    child.inc();
    if (usage === null || usage === undefined) return;
    // OpenAI-compatible usage: prompt_tokens / completion_tokens.
    for (const [field, kind] of [['prompt_tokens', 'prompt'], ['completion_tokens', 'completion']] as const) {
      const tokens = usage[field];
      if (typeof tokens === 'number' && Number.isFinite(tokens) && tokens > 0) this.metrics.llmTokens.inc({ workspace: this.workspace, workflow: this.workflow, kind }, tokens);
    }
  }
}

/**
 * Hands out the label pairs of per-workflow metrics with a cap on how many distinct pairs exist,
 * so ids chosen by callers cannot grow the series without bound. Callers ask for a pair only for
 * workflows that exist (`of`) or for the per-workspace bucket of unknown ids (`unknownIn`);
 * past `maxPairs` every new pair shares the `(other)` pair. Pairs, once given, stay for the
 * process's life (a workflow's counters must not reset while Prometheus scrapes them).
 */
export class WorkflowLabels {
  private readonly pairs = new Map<string, WorkflowSeries>();
  private readonly other: WorkflowSeries;

  constructor(
    private readonly metrics: Metrics,
    /** Most distinct (workspace, workflow) pairs, `(other)` not included. */
    private readonly maxPairs: number,
  ) {
    this.other = new WorkflowSeries(metrics, OTHER_LABEL, OTHER_LABEL);
  }

  /** The series of a workflow that exists. */
  of(workspaceId: string, workflowId: string): WorkflowSeries {
    const key = `${workspaceId}\u0000${workflowId}`;
    const known = this.pairs.get(key);
    if (known !== undefined) return known;
    if (this.pairs.size >= this.maxPairs) return this.other;
    const series = new WorkflowSeries(this.metrics, workspaceId, workflowId);
    this.pairs.set(key, series);
    return series;
  }

  /**
   * The series of calls to a workflow id that names nothing: per workspace when the workspace
   * exists, else one shared `(unknown)` pair (workspace ids are the caller's choice too).
   */
  unknownIn(workspaceId: string | null): WorkflowSeries {
    return this.of(workspaceId ?? UNKNOWN_LABEL, UNKNOWN_LABEL);
  }

  /** How many pairs exist (tests, docs). */
  get size(): number {
    return this.pairs.size;
  }
}
