import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { MemoryBudget } from '../util/memory-budget.js';

/** Why a webhook was shed; `null` when the process can take it. */
export type ShedReason = 'event_loop_delay' | 'pending_writes' | 'memory_budget' | null;

export interface LoadShedderOptions {
  /** Mean event-loop delay over the last sample past which new webhooks are shed, ms; 0 = off. */
  maxEventLoopDelayMs: number;
  /** Writes waiting for a commit past which new webhooks are shed; 0 = off. */
  maxPendingWrites: number;
  /** Writes waiting for a commit now (the store's figure). */
  pendingWrites: () => number;
  budget: MemoryBudget;
  /** How often the event-loop delay is sampled, ms (default 100). */
  sampleIntervalMs?: number;
}

const RESOLUTION_MS = 10;

/**
 * Admission control for the webhook route: the same idea as `@fastify/under-pressure` (a sampled
 * event-loop delay against a threshold), in our own hook because the decision also needs the
 * store's pending writes and the memory budget, applies to the webhook route only (probes,
 * metrics and the management API are never shed), and must answer with the contract's 503 body.
 * Checking costs two comparisons per request: the delay is sampled on a timer, not per call.
 */
export class LoadShedder {
  private readonly histogram: IntervalHistogram;
  private readonly timer: NodeJS.Timeout;
  private delayMs = 0;

  constructor(private readonly options: LoadShedderOptions) {
    this.histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.histogram.enable();
    this.timer = setInterval(() => this.sample(), options.sampleIntervalMs ?? 100);
    this.timer.unref();
  }

  /** Mean event-loop delay over the last sample, ms. */
  get eventLoopDelayMs(): number {
    return this.delayMs;
  }

  /** The reason to shed a new webhook now, or null to take it. */
  check(): ShedReason {
    const { maxEventLoopDelayMs, maxPendingWrites } = this.options;
    if (maxEventLoopDelayMs > 0 && this.delayMs > maxEventLoopDelayMs) return 'event_loop_delay';
    if (maxPendingWrites > 0 && this.options.pendingWrites() >= maxPendingWrites) return 'pending_writes';
    if (this.options.budget.full()) return 'memory_budget';
    return null;
  }

  close(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }

  private sample(): void {
    // The histogram's mean includes the timer resolution itself (as under-pressure subtracts it).
    const mean = this.histogram.count > 0 ? this.histogram.mean / 1e6 - RESOLUTION_MS : 0;
    this.delayMs = Math.max(0, mean);
    this.histogram.reset();
  }
}
