import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { toError } from '../errors/catalogue.js';
import type { AlertDeliveryRecord, AlertHistoryRecord, AlertRuleRecord, AlertStatus } from '../store/alert-store.js';
import { newId } from '../store/ids.js';
import type { Store } from '../store/store.js';
import type { AlertNotifier } from './alert-notifier.js';
import { changeContent, notificationBody } from './notification.js';
import { measureRule, type Measure } from './rule-measures.js';

export interface AlertEvaluatorOptions {
  store: Store;
  notifier: AlertNotifier;
  /** Injected clock (tests); every time the evaluator stores comes from it. */
  clock: () => number;
  logger: Logger;
  /** Time between passes, ms (HOOKFLOW_ALERTS_INTERVAL_MS). */
  intervalMs: number;
}

/** What one pass did. */
export interface PassResult {
  /** False when another node holds the lease (this node did nothing). */
  leader: boolean;
  /** State changes this pass made (each notified once). */
  changes: number;
}

/**
 * Evaluates every enabled rule and sends due notifications, on one node at a time: a pass
 * first takes (or extends) the lease row, so with several nodes on one PostgreSQL only the
 * holder evaluates; should two passes still overlap (a lease that lapsed mid-pass), the state
 * change is a compare-and-set and only one of them records it and its notifications.
 */
export class AlertEvaluator {
  /** This node's name on the lease. */
  readonly nodeId = `alerts_${randomUUID()}`;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<PassResult> | null = null;
  private stopped = false;

  constructor(private readonly options: AlertEvaluatorOptions) {}

  /** The lease lasts two intervals and a minute: the holder renews it each pass, a dead holder frees it soon after. */
  private get leaseMs(): number {
    return 2 * this.options.intervalMs + 60_000;
  }

  /** Starts passes every interval (the first one interval after start). */
  start(): void {
    this.stopped = false;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.pass().catch(() => undefined).finally(() => this.schedule());
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** Stops passes, waits for one in progress, and gives the lease up for another node. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    await this.options.store.alerts.releaseAlertLease(this.nodeId).catch(() => undefined);
  }

  /** One pass now (a pass already running is waited for instead). Tests call it with their clock. */
  pass(): Promise<PassResult> {
    this.running ??= this.evaluate().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async evaluate(): Promise<PassResult> {
    const { store, clock, logger } = this.options;
    const now = clock();
    try {
      if (!(await store.alerts.acquireAlertLease(this.nodeId, now, this.leaseMs))) return { leader: false, changes: 0 };
      const [rules, states] = await Promise.all([store.alerts.listAlertRules(null), store.alerts.listAlertStates(null)]);
      const current = new Map(states.map((state) => [`${state.workspaceId}\u0000${state.ruleId}`, state.status]));
      let changes = 0;
      for (const rule of rules) {
        if (!rule.enabled) continue;
        // SQLite reads run synchronously on this thread: between rules, let waiting webhooks in.
        await new Promise<void>((resolve) => setImmediate(resolve));
        const status = current.get(`${rule.workspaceId}\u0000${rule.id}`) ?? 'ok';
        if (await this.evaluateRule(rule, status, now)) changes += 1;
      }
      await this.options.notifier.deliverDue();
      return { leader: true, changes };
    } catch (error) {
      logger.error({ err: toError(error) }, 'alert evaluation failed; the next pass tries again');
      throw error;
    }
  }

  /** Measures one rule and records its state change, if any; true when this pass made one. */
  private async evaluateRule(rule: AlertRuleRecord, status: AlertStatus, now: number): Promise<boolean> {
    let measure: Measure;
    try {
      measure = await measureRule(rule, this.options.store, now);
    } catch (error) {
      this.options.logger.warn({ err: toError(error), rule: rule.id, workspace: rule.workspaceId }, 'could not evaluate an alert rule');
      return false;
    }
    const next: AlertStatus = measure.firing ? 'firing' : 'ok';
    if (next === status) return false;
    const history: AlertHistoryRecord = {
      id: newId('alh', now), workspaceId: rule.workspaceId, ruleId: rule.id, ruleName: rule.name, status: next === 'firing' ? 'firing' : 'resolved',
      at: now, value: measure.value, message: measure.message,
    };
    const body = notificationBody(changeContent(rule, history));
    const deliveries: AlertDeliveryRecord[] = rule.channelIds.map((channelId) => ({
      id: newId('msg', now), historyId: history.id, workspaceId: rule.workspaceId, channelId, payload: body, status: 'pending',
      attempts: 0, nextAttemptAt: now, lastStatus: null, lastError: null, deliveredAt: null,
    }));
    const changed = await this.options.store.alerts.transitionAlert({
      state: { workspaceId: rule.workspaceId, ruleId: rule.id, status: next, since: now, value: measure.value, message: measure.message },
      expected: status,
      history,
      deliveries,
    });
    if (changed) this.options.logger.info({ rule: rule.id, workspace: rule.workspaceId, status: history.status, value: measure.value }, `alert ${history.status}: ${rule.name}`);
    return changed;
  }
}
