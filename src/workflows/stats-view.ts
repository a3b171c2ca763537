import type { RunRecord, RunStatus, WebhookStatRow } from '../store/store.js';
import { RUN_STATUSES } from '../store/store.js';
import { percentileOfBuckets } from '../telemetry/latency-buckets.js';

/** Most runs a stats answer reads (the newest of its window); `runs.truncated` says when more existed. */
export const STATS_MAX_RUNS = 10_000;

/** Chart bucket widths, seconds: the smallest giving at most MAX_CHART_BUCKETS over the window is used. */
const BUCKET_WIDTHS_SECONDS = [60, 300, 900, 3600, 6 * 3600, 86_400];
const MAX_CHART_BUCKETS = 120;
const MINUTE_MS = 60_000;

/** The window a stats answer covers. */
export interface StatsWindow {
  windowSeconds: number;
  now: number;
}

interface Tally {
  webhooks: number;
  errors: number;
}

/** Chart point: what happened in one bucket of the window. */
export interface StatsBucket {
  start: string;
  webhooks: number;
  errors: number;
  accepted: number;
  runsSucceeded: number;
  runsFailed: number;
}

/** Outcomes of calls whose event was taken (or answered as a handshake): never errors, whatever status a response mode chose. */
const TAKEN_OUTCOMES = new Set(['accepted', 'duplicate', 'test', 'handshake', 'filtered']);

/** A call counts as an error when it was refused or failed: answered 4xx or 5xx without its event being taken. */
const isError = (outcome: string, status: number): boolean => status >= 400 && !TAKEN_OUTCOMES.has(outcome);

function ratio(part: number, whole: number): number | null {
  return whole === 0 ? null : Math.round((part / whole) * 10_000) / 10_000;
}

function nearestRank(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? null;
}

/** The minute stored stats of a window start from: its first whole minute (the window is rounded down to it). */
export function statsSince(window: StatsWindow): number {
  const since = window.now - window.windowSeconds * 1000;
  return since - (since % MINUTE_MS);
}

/**
 * Builds the stats answer (API.md, docs/observability.md) from stored webhook stats rows and the
 * runs of the window. Pure: the same rows give the same answer on every node.
 */
export function statsView(window: StatsWindow, rows: readonly WebhookStatRow[], runs: readonly RunRecord[], options: { byWorkflow: boolean }): Record<string, unknown> {
  const since = statsSince(window);
  const bucketSeconds = BUCKET_WIDTHS_SECONDS.find((width) => window.windowSeconds / width <= MAX_CHART_BUCKETS) ?? (BUCKET_WIDTHS_SECONDS.at(-1) as number);
  const bucketMs = bucketSeconds * 1000;
  const firstBucket = since - (since % bucketMs);
  const buckets: StatsBucket[] = [];
  for (let start = firstBucket; start <= window.now; start += bucketMs) {
    buckets.push({ start: new Date(start).toISOString(), webhooks: 0, errors: 0, accepted: 0, runsSucceeded: 0, runsFailed: 0 });
  }
  const bucketAt = (time: number): StatsBucket | undefined => buckets[Math.floor((time - firstBucket) / bucketMs)];

  const byOutcome: Record<string, number> = {};
  const byStatus: Record<string, number> = {};
  const answered = new Map<number, number>();
  const perWorkflow = new Map<string, Tally>();
  let total = 0;
  let errors = 0;
  for (const row of rows) {
    total += row.count;
    byOutcome[row.outcome] = (byOutcome[row.outcome] ?? 0) + row.count;
    byStatus[String(row.status)] = (byStatus[String(row.status)] ?? 0) + row.count;
    const failed = isError(row.outcome, row.status);
    if (failed) errors += row.count;
    // Response times of the calls that were taken: refusals answer before any real work.
    else answered.set(row.latencyBucket, (answered.get(row.latencyBucket) ?? 0) + row.count);
    const bucket = bucketAt(row.minute);
    if (bucket !== undefined) {
      bucket.webhooks += row.count;
      if (failed) bucket.errors += row.count;
      if (row.outcome === 'accepted') bucket.accepted += row.count;
    }
    const tally = perWorkflow.get(row.workflowId) ?? { webhooks: 0, errors: 0 };
    tally.webhooks += row.count;
    if (failed) tally.errors += row.count;
    perWorkflow.set(row.workflowId, tally);
  }

  const runsByStatus = Object.fromEntries(RUN_STATUSES.map((status) => [status, 0])) as Record<RunStatus, number>;
  const durations: number[] = [];
  for (const run of runs) {
    runsByStatus[run.status] += 1;
    if (run.finishedAt !== null) durations.push(run.finishedAt - run.createdAt);
    const bucket = bucketAt(run.createdAt);
    if (bucket !== undefined && run.status === 'succeeded') bucket.runsSucceeded += 1;
    if (bucket !== undefined && run.status === 'failed') bucket.runsFailed += 1;
  }
  durations.sort((a, b) => a - b);
  const finished = runsByStatus.succeeded + runsByStatus.failed;

  return {
    windowSeconds: window.windowSeconds,
    from: new Date(since).toISOString(),
    to: new Date(window.now).toISOString(),
    webhooks: { total, errors, byOutcome, byStatus },
    errorRate: ratio(errors, total),
    p50Ms: percentileOfBuckets(answered, 50),
    p95Ms: percentileOfBuckets(answered, 95),
    p99Ms: percentileOfBuckets(answered, 99),
    runs: {
      total: runs.length,
      truncated: runs.length === STATS_MAX_RUNS,
      byStatus: runsByStatus,
      failureRate: ratio(runsByStatus.failed, finished),
      durationMs: { p50: nearestRank(durations, 50), p95: nearestRank(durations, 95), p99: nearestRank(durations, 99), max: durations.at(-1) ?? null },
    },
    series: { bucketSeconds, buckets },
    ...(options.byWorkflow
      ? {
          workflows: [...perWorkflow]
            .map(([workflowId, tally]) => ({ workflowId: workflowId === '' ? null : workflowId, webhooks: tally.webhooks, errors: tally.errors, errorRate: ratio(tally.errors, tally.webhooks) }))
            .sort((a, b) => b.webhooks - a.webhooks),
        }
      : {}),
  };
}
