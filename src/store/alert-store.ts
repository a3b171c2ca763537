/**
 * The persistence contract of built-in alerts (src/alerts/): rules, notification channels, the
 * state of each rule, its history and the deliveries of its notifications, and the lease that
 * lets one node at a time evaluate. Both adapters implement it (`Store.alerts`). Times are epoch
 * milliseconds.
 */

import type { Page, PageRequest, RunStatus } from './store.js';

/** What a rule watches (docs/observability.md, "Built-in alerts"). */
export type AlertRuleKind = 'run_failure_rate' | 'dead_letters' | 'invalid_auth' | 'rate_limited' | 'queue_lag' | 'silence';
export const ALERT_RULE_KINDS: readonly AlertRuleKind[] = ['run_failure_rate', 'dead_letters', 'invalid_auth', 'rate_limited', 'queue_lag', 'silence'];

/** An outgoing webhook notifications are posted to. The signing secret is stored encrypted only. */
export interface AlertChannelRecord {
  workspaceId: string;
  id: string;
  name: string;
  url: string;
  /** The `whsec_…` signing secret, encrypted (secrets/alert-channel-secret.ts binds it to the row). */
  secretCiphertext: string;
  createdAt: number;
}

/** A rule: what to watch (kind, params), where (one workflow or the whole workspace), whom to tell. */
export interface AlertRuleRecord {
  workspaceId: string;
  id: string;
  name: string;
  kind: AlertRuleKind;
  /** The workflow watched; null: the whole workspace. */
  workflowId: string | null;
  /** The kind's parameters, already validated (alerts/alert-rules.ts). */
  params: Record<string, unknown>;
  channelIds: string[];
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export type AlertStatus = 'ok' | 'firing';

/** The current state of a rule; a rule without one is `ok`. */
export interface AlertStateRecord {
  workspaceId: string;
  ruleId: string;
  status: AlertStatus;
  /** When the rule entered this status. */
  since: number;
  /** The measured value at that moment (rate, count, seconds…); null when there was none. */
  value: number | null;
  message: string;
}

/** One state change of a rule: what the history lists and what is notified. */
export interface AlertHistoryRecord {
  id: string;
  workspaceId: string;
  ruleId: string;
  ruleName: string;
  status: 'firing' | 'resolved';
  at: number;
  value: number | null;
  message: string;
}

export type AlertDeliveryStatus = 'pending' | 'delivered' | 'failed';

/** The notification of one state change to one channel, retried until delivered or out of attempts. */
export interface AlertDeliveryRecord {
  /** Also the `webhook-id` of every attempt, so a receiver can deduplicate retries. */
  id: string;
  historyId: string;
  workspaceId: string;
  channelId: string;
  /** The JSON body, made once so every attempt sends the same bytes. Never holds a secret. */
  payload: string;
  status: AlertDeliveryStatus;
  attempts: number;
  /** When a pending delivery is next tried (or, while a node sends it, when its claim lapses). */
  nextAttemptAt: number | null;
  /** HTTP status of the last answer; null when there was none (network error, refused address). */
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: number | null;
}

/** A state change to write at once: the new state, its history entry and the deliveries it owes. */
export interface AlertTransition {
  state: AlertStateRecord;
  /** The status the rule must still have for the change to apply (another node may have moved it). */
  expected: AlertStatus;
  history: AlertHistoryRecord;
  deliveries: AlertDeliveryRecord[];
}

/** What happened to one delivery attempt. */
export type AlertDeliveryUpdate = Omit<AlertDeliveryRecord, 'historyId' | 'workspaceId' | 'channelId' | 'payload'>;

/** Which runs, calls or events a measure looks at: a workspace, or one workflow of it. */
export interface AlertScope {
  workspaceId: string;
  /** Null: every workflow of the workspace. */
  workflowId: string | null;
}

export interface AlertStore {
  /** CONFLICT when the id exists. */
  createAlertChannel(channel: AlertChannelRecord): Promise<void>;
  getAlertChannel(workspaceId: string, id: string): Promise<AlertChannelRecord | null>;
  /** Oldest first. */
  listAlertChannels(workspaceId: string): Promise<AlertChannelRecord[]>;
  /** Every workspace's channels (master-key rotation). */
  listAllAlertChannels(): Promise<AlertChannelRecord[]>;
  /** Rewrites channels' secret ciphertexts in one transaction (master-key rotation). */
  reencryptAlertChannels(updates: { workspaceId: string; id: string; secretCiphertext: string }[]): Promise<void>;
  /** False when there was none. Its pending deliveries fail ("channel deleted"). */
  deleteAlertChannel(workspaceId: string, id: string): Promise<boolean>;

  /** Creates or replaces the rule (same workspace and id). */
  putAlertRule(rule: AlertRuleRecord): Promise<void>;
  getAlertRule(workspaceId: string, id: string): Promise<AlertRuleRecord | null>;
  /** Oldest first; `workspaceId` null: every workspace's (the evaluator). */
  listAlertRules(workspaceId: string | null): Promise<AlertRuleRecord[]>;
  /** Deletes the rule and its state (its history stays). False when there was none. */
  deleteAlertRule(workspaceId: string, id: string): Promise<boolean>;

  /** Current states; `workspaceId` null: every workspace's. */
  listAlertStates(workspaceId: string | null): Promise<AlertStateRecord[]>;
  /** Forgets a rule's state without a notification (a disabled rule starts again from `ok`). */
  clearAlertState(workspaceId: string, ruleId: string): Promise<void>;
  /**
   * Applies a state change in one transaction, only if the rule still has `expected` (compare
   * and set): true when this call made the change — then, and only then, its history entry and
   * deliveries are stored. Two nodes evaluating at once cannot both notify.
   */
  transitionAlert(transition: AlertTransition): Promise<boolean>;
  /** A workspace's history, newest first. */
  listAlertHistory(workspaceId: string, filter: { ruleId?: string | undefined }, page: PageRequest): Promise<Page<AlertHistoryRecord>>;
  /** The deliveries of these history entries. */
  listAlertDeliveries(historyIds: readonly string[]): Promise<AlertDeliveryRecord[]>;
  /** Pending deliveries due at `now`, oldest first, at most `limit`. */
  dueAlertDeliveries(now: number, limit: number): Promise<AlertDeliveryRecord[]>;
  /**
   * Takes a due pending delivery for sending until `until` (its `nextAttemptAt` moves there):
   * false when another node took it first or it is no longer due.
   */
  claimAlertDelivery(id: string, now: number, until: number): Promise<boolean>;
  recordAlertDelivery(update: AlertDeliveryUpdate): Promise<void>;

  /**
   * Takes or extends the evaluator lease for `owner` until `now + ttlMs`: true when `owner`
   * holds it now (it was free, expired, or already `owner`'s).
   */
  acquireAlertLease(owner: string, now: number, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if `owner` holds it (a node stopping). */
  releaseAlertLease(owner: string): Promise<void>;

  // --- measures (read only) ---
  /** Runs of the scope that finished (`succeeded` or dead-lettered `failed`) at or after `since`. */
  countFinishedRuns(scope: AlertScope, since: number): Promise<Record<Extract<RunStatus, 'succeeded' | 'failed'>, number>>;
  /** The earliest `availableAt` of the scope's queued runs already due at `now`; null when none. */
  oldestDueRun(scope: AlertScope, now: number): Promise<number | null>;
  /** `receivedAt` of the workflow's latest real (non-test) events, newest first, at most `limit`. */
  recentEventTimes(workspaceId: string, workflowId: string, limit: number): Promise<number[]>;
}
