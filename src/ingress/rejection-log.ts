import type { Metrics } from '../telemetry/metrics.js';
import type { RejectedCallRecord } from '../store/store.js';
import { newId } from '../store/ids.js';
import { RateLimiter } from './rate-limiter.js';

export interface RejectionLogOptions {
  /** Records kept per workflow per minute; past it calls are only counted in metrics. */
  perWorkflowPerMinute: number;
  save: (record: RejectedCallRecord) => Promise<void>;
  metrics: Metrics;
  onSaveError: (error: unknown) => void;
}

const ALL_WORKFLOWS = '\u0000all';
/** The overall budget is this many workflows' worth. */
const GLOBAL_BUDGET_FACTOR = 10;

/** A refused call as the ingress describes it. */
export interface RejectedCall {
  workspaceId: string;
  workflowId: string;
  status: number;
  reason: string;
  sourceIp: string;
  bodyBytes: number | null;
  /** The caller's User-Agent (truncated), null when none was sent. */
  userAgent: string | null;
}

/**
 * Keeps a sampled record of refused calls (reason, source IP, time, size — never the body or
 * the key) so suspicious activity is visible, while a flood cannot fill the disk: every
 * rejection is counted in metrics, only a bounded number per workflow per minute is stored.
 */
export class RejectionLog {
  private readonly sampler = new RateLimiter(10_000);

  constructor(private readonly options: RejectionLogOptions) {}

  record(call: RejectedCall, now: number): void {
    this.count(call);
    // Per workflow, and overall: ids in refused URLs are the caller's choice, so a per-id budget
    // alone would let a flood over invented ids store one row per call.
    if (this.sampler.take(`${call.workspaceId}\u0000${call.workflowId}`, this.options.perWorkflowPerMinute, now) !== 0) return;
    if (this.sampler.take(ALL_WORKFLOWS, this.options.perWorkflowPerMinute * GLOBAL_BUDGET_FACTOR, now) !== 0) return;
    // Fire and forget: the answer to the caller never waits for, or fails on, this record.
    this.options.save({ id: newId('rej', now), receivedAt: now, ...call }).catch(this.options.onSaveError);
  }

  /** Counts a refusal in metrics without storing it. */
  count(call: RejectedCall): void {
    this.options.metrics.rejected.inc({ status: String(call.status), reason: call.reason });
  }
}
