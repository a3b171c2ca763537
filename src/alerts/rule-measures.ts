import type { AlertRuleRecord, AlertScope } from '../store/alert-store.js';
import type { Store } from '../store/store.js';
import { ruleParams } from './alert-rules.js';
import { expectedSilenceMs, SILENCE_HISTORY_EVENTS } from './silence.js';

/** What a rule's condition measures now: whether it holds, the value, and a sentence for people. */
export interface Measure {
  firing: boolean;
  value: number | null;
  message: string;
}

/** Webhook outcomes (docs/observability.md) counted as a missing or wrong key or signature. */
export function isInvalidAuthOutcome(outcome: string): boolean {
  return outcome === 'missing_key' || outcome === 'invalid_key' || outcome.startsWith('signature_');
}
/** Webhook outcomes counted as rate-limited (429). */
export function isRateLimitedOutcome(outcome: string): boolean {
  return outcome === 'trigger_rate_limit' || outcome === 'source_ip_rate_limit';
}

const percent = (ratio: number): string => `${Math.round(ratio * 1000) / 10}%`;

/**
 * Measures a rule's condition from stored data only (runs, events, the webhook stats every node
 * adds to), so whichever node evaluates gets the same answer.
 */
export async function measureRule(rule: AlertRuleRecord, store: Store, now: number): Promise<Measure> {
  const scope: AlertScope = { workspaceId: rule.workspaceId, workflowId: rule.workflowId };
  switch (rule.kind) {
    case 'run_failure_rate': {
      const p = ruleParams('run_failure_rate', rule.params);
      const runs = await store.alerts.countFinishedRuns(scope, now - p.windowMinutes * 60_000);
      const finished = runs.succeeded + runs.failed;
      const rate = finished === 0 ? null : runs.failed / finished;
      const firing = rate !== null && finished >= p.minRuns && rate >= p.threshold;
      const what = rate === null ? 'no finished runs' : `run failure rate ${percent(rate)} (${runs.failed} of ${finished} runs)`;
      return { firing, value: rate, message: `${what} in the last ${p.windowMinutes} min (fires at ${percent(p.threshold)} over at least ${p.minRuns} runs)` };
    }
    case 'dead_letters': {
      const p = ruleParams('dead_letters', rule.params);
      const runs = await store.alerts.countFinishedRuns(scope, now - p.windowMinutes * 60_000);
      return { firing: runs.failed >= p.threshold, value: runs.failed, message: `${runs.failed} dead-lettered runs in the last ${p.windowMinutes} min (fires at ${p.threshold})` };
    }
    case 'invalid_auth':
    case 'rate_limited': {
      const p = ruleParams(rule.kind, rule.params);
      const matches = rule.kind === 'invalid_auth' ? isInvalidAuthOutcome : isRateLimitedOutcome;
      // Stats are kept per minute: the window starts at the beginning of its first minute.
      const since = Math.floor((now - p.windowMinutes * 60_000) / 60_000) * 60_000;
      const rows = await store.listWebhookStats(rule.workspaceId, rule.workflowId, since);
      const total = rows.reduce((sum, row) => (matches(row.outcome) ? sum + row.count : sum), 0);
      const what = rule.kind === 'invalid_auth' ? 'calls with a missing or wrong key or signature' : 'calls refused by a rate limit (429)';
      return { firing: total >= p.threshold, value: total, message: `${total} ${what} in the last ${p.windowMinutes} min (fires at ${p.threshold})` };
    }
    case 'queue_lag': {
      const p = ruleParams('queue_lag', rule.params);
      const due = await store.alerts.oldestDueRun(scope, now);
      const seconds = due === null ? 0 : Math.floor((now - due) / 1000);
      return { firing: seconds >= p.thresholdSeconds, value: seconds, message: `the oldest due run has waited ${seconds} s (fires at ${p.thresholdSeconds} s)` };
    }
    case 'silence': {
      const p = ruleParams('silence', rule.params);
      // Validated on save: a silence rule always names its workflow.
      const workflowId = rule.workflowId ?? '';
      // A workflow switched off (or deleted) is expected to go quiet: that is no alert.
      const workflow = await store.getWorkflow(rule.workspaceId, workflowId);
      if (workflow === null || !workflow.enabled) return { firing: false, value: null, message: 'the workflow is disabled or deleted: silence is expected' };
      const times = await store.alerts.recentEventTimes(rule.workspaceId, workflowId, Math.max(SILENCE_HISTORY_EVENTS, p.minEvents));
      const expected = expectedSilenceMs(times, p);
      const last = times[0];
      if (expected === null || last === undefined) {
        return { firing: false, value: null, message: `fewer than ${p.minEvents} events so far: no traffic to miss yet` };
      }
      const silentSeconds = Math.floor((now - last) / 1000);
      const how = p.silenceMinutes === undefined ? 'learned from its latest events' : 'configured';
      return { firing: now - last >= expected, value: silentSeconds, message: `no event for ${silentSeconds} s (expected within ${Math.round(expected / 1000)} s, ${how})` };
    }
  }
}
