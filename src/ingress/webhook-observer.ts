import type { WorkflowLabels, WorkflowSeries } from '../telemetry/workflow-labels.js';
import type { ResolvedTrigger } from './trigger-registry.js';
import type { WebhookStatsRecorder } from './webhook-stats-recorder.js';
import type { WorkspaceDirectory } from './workspace-directory.js';

/** What is learnt about one webhook call while it is handled, read once it was answered. */
export interface WebhookObservation {
  /** Metric children of its (capped) label pair; null until the workflow lookup. */
  series: WorkflowSeries | null;
  /** Where its stored stats go; null for ids that name no existing workspace. */
  statsOwner: { workspaceId: string; workflowId: string } | null;
  /** accepted, duplicate, test, or the reason of a refusal; null: derived from the status. */
  outcome: string | null;
  runId: string | null;
}

/** A fresh observation for a call that just arrived. */
export function newObservation(): WebhookObservation {
  return { series: null, statsOwner: null, outcome: null, runId: null };
}

/** One line per webhook call: what the log and the metrics say about it. */
export interface WebhookSummary {
  workspace: string;
  workflow: string;
  outcome: string;
  status: number;
  ms: number;
  runId: string | null;
}

/** Outcome of an answer the ingress did not name itself (the body reader, storage, a bug). */
function outcomeOfStatus(status: number): string {
  if (status < 300) return 'accepted';
  if (status === 400) return 'bad_request';
  if (status === 404) return 'not_found';
  if (status === 405) return 'method_not_allowed';
  if (status === 408) return 'timeout';
  if (status === 413) return 'body_too_large';
  if (status === 415) return 'unsupported_encoding';
  if (status === 503) return 'unavailable'; // storage away, shutting down, or shed (hookflow_webhooks_shed_total says which)
  return 'error';
}

export interface WebhookObserverOptions {
  labels: WorkflowLabels;
  workspaces: WorkspaceDirectory;
  stats: WebhookStatsRecorder;
}

/**
 * Counts every answered webhook call once, under its workflow: the outcome counter, the ingest
 * histogram (accepted calls) and the stored stats. Series are bound once per trigger object and
 * cached with it, so the hot path does no label work.
 */
export class WebhookObserver {
  private readonly byTrigger = new WeakMap<ResolvedTrigger, WorkflowSeries>();

  constructor(private readonly options: WebhookObserverOptions) {}

  /** The call is for this workflow (it exists, enabled or not). */
  forTrigger(observation: WebhookObservation, trigger: ResolvedTrigger): void {
    let series = this.byTrigger.get(trigger);
    if (series === undefined) {
      series = this.options.labels.of(trigger.workspaceId, trigger.workflowId);
      this.byTrigger.set(trigger, series);
    }
    observation.series = series;
    observation.statsOwner = trigger;
  }

  /** The call names no workflow: counted per workspace when the workspace exists. */
  async forUnknown(observation: WebhookObservation, workspaceId: string, now: number): Promise<void> {
    const exists = await this.options.workspaces.exists(workspaceId, now).catch(() => false);
    observation.series = this.options.labels.unknownIn(exists ? workspaceId : null);
    observation.statsOwner = exists ? { workspaceId, workflowId: '' } : null;
  }

  /** The call was answered: counts it and returns its log line's fields. */
  finished(observation: WebhookObservation, status: number, durationMs: number, now: number): WebhookSummary {
    const outcome = observation.outcome ?? outcomeOfStatus(status);
    const series = observation.series ?? this.options.labels.unknownIn(null);
    series.countWebhook(outcome);
    if (outcome === 'accepted') series.observeIngest(durationMs / 1000);
    const owner = observation.statsOwner;
    if (owner !== null) this.options.stats.add(owner.workspaceId, owner.workflowId, outcome, status, durationMs, now);
    return { workspace: series.workspace, workflow: series.workflow, outcome, status, ms: Math.round(durationMs * 10) / 10, runId: observation.runId };
  }
}
