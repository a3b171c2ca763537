import type { WebhookStatRow } from '../store/store.js';
import { latencyBucketOf } from '../telemetry/latency-buckets.js';

export interface WebhookStatsRecorderOptions {
  /** Adds rows to the stored stats (Store.addWebhookStats). */
  save: (rows: WebhookStatRow[]) => Promise<void>;
  /** How often counts are written, ms. */
  flushMs: number;
  onSaveError: (error: unknown) => void;
}

const MINUTE_MS = 60_000;
/** Rows kept for a later flush while the store keeps failing; past it the oldest counts are dropped. */
const MAX_PENDING_ROWS = 100_000;

/**
 * Counts webhook calls in memory per (workspace, workflow, minute, outcome, status, response-time
 * bucket) and adds them to the store every `flushMs`: one write per flush instead of one per
 * call, and every node's counts end up in the same rows, so any node answers the stats alike.
 */
export class WebhookStatsRecorder {
  private pending = new Map<string, WebhookStatRow>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly options: WebhookStatsRecorderOptions) {}

  /** One answered call. `workflowId` '' = an id that names no workflow of the workspace. */
  add(workspaceId: string, workflowId: string, outcome: string, status: number, durationMs: number, now: number): void {
    const minute = now - (now % MINUTE_MS);
    const latencyBucket = latencyBucketOf(durationMs);
    const key = `${workspaceId}\u0000${workflowId}\u0000${minute}\u0000${outcome}\u0000${status}\u0000${latencyBucket}`;
    const row = this.pending.get(key);
    if (row !== undefined) row.count++;
    else this.pending.set(key, { workspaceId, workflowId, minute, outcome, status, latencyBucket, count: 1 });
  }

  /** Drops the unsaved counts of a workflow that was deleted: they must not reach a new workflow of that id. */
  forget(workspaceId: string, workflowId: string): void {
    for (const [key, row] of this.pending) if (row.workspaceId === workspaceId && row.workflowId === workflowId) this.pending.delete(key);
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.options.flushMs);
    // The flush timer alone must not keep a process alive.
    this.timer.unref();
  }

  /** Writes what was counted so far (flushes never overlap). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  /** Stops the timer and writes the rest. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.options.save([...batch.values()]);
    } catch (error) {
      this.options.onSaveError(error);
      // Kept for the next flush, added to what was counted meanwhile.
      for (const [key, row] of batch) {
        if (this.pending.size >= MAX_PENDING_ROWS) break;
        const later = this.pending.get(key);
        if (later !== undefined) later.count += row.count;
        else this.pending.set(key, row);
      }
    }
  }
}
