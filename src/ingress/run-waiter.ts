import type { RunRecord, Store } from '../store/store.js';

export interface RunWaiterOptions {
  store: Store;
  /**
   * How often runs still awaited are read again, ms. Local runs wake their callers at once
   * (`finished`); this bounds the wait for a run finished by another process.
   */
  pollMs: number;
}

interface Waiting {
  workspaceId: string;
  resolvers: Set<(run: RunRecord | null) => void>;
}

/**
 * Callers of `result`-mode webhooks waiting for their run. A wait holds no worker and no
 * connection to the store: it is a promise in a map, settled when this process's workers finish
 * the run (`finished`), when a periodic read finds it finished (another node's workers), or when
 * its time is up. One read per awaited run per poll, however many callers wait for it.
 */
export class RunWaiter {
  private readonly waiting = new Map<string, Waiting>();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;

  constructor(private readonly options: RunWaiterOptions) {}

  /** Resolves with the run once it succeeded or failed for good, or null when `timeoutMs` passed first. */
  wait(workspaceId: string, runId: string, timeoutMs: number): Promise<RunRecord | null> {
    return new Promise((resolve) => {
      let entry = this.waiting.get(runId);
      if (entry === undefined) {
        entry = { workspaceId, resolvers: new Set() };
        this.waiting.set(runId, entry);
      }
      const waiting = entry;
      const settle = (run: RunRecord | null): void => {
        clearTimeout(timeout);
        waiting.resolvers.delete(settle);
        if (waiting.resolvers.size === 0 && this.waiting.get(runId) === waiting) this.waiting.delete(runId);
        resolve(run);
      };
      const timeout = setTimeout(() => settle(null), timeoutMs);
      waiting.resolvers.add(settle);
      this.schedulePoll();
      // A run that finished between its commit and this wait is found by the first read.
      void this.check(runId);
    });
  }

  /** A run finished in this process: its callers get their answer now, not at the next poll. */
  finished(runId: string): void {
    if (this.waiting.has(runId)) void this.check(runId);
  }

  /** Ends every wait (shutdown): callers get their 202 at once. */
  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const entry of [...this.waiting.values()]) for (const settle of [...entry.resolvers]) settle(null);
  }

  private schedulePoll(): void {
    if (this.timer !== null || this.waiting.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.pollAll();
    }, this.options.pollMs);
    this.timer.unref();
  }

  private async pollAll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const runId of [...this.waiting.keys()]) await this.check(runId);
    } finally {
      this.polling = false;
      this.schedulePoll();
    }
  }

  private async check(runId: string): Promise<void> {
    const entry = this.waiting.get(runId);
    if (entry === undefined) return;
    let run: RunRecord | null;
    try {
      run = await this.options.store.getRun(entry.workspaceId, runId);
    } catch {
      return; // storage trouble: the next poll tries again, and the timeout still ends the wait
    }
    if (run === null || (run.status !== 'succeeded' && run.status !== 'failed')) return;
    for (const settle of [...entry.resolvers]) settle(run);
  }
}
