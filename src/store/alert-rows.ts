import type { AlertChannelRecord, AlertDeliveryRecord, AlertDeliveryStatus, AlertHistoryRecord, AlertRuleKind, AlertRuleRecord, AlertStateRecord, AlertStatus } from './alert-store.js';

/*
 * Alert rows as both stores return them (same column names), and their mapping to records.
 * Booleans come back as 0/1 from SQLite and true/false from PostgreSQL; JSON columns are text.
 */

export interface AlertChannelRow { workspace_id: string; id: string; name: string; url: string; secret: string; created_at: number }
export interface AlertRuleRow {
  workspace_id: string; id: string; name: string; kind: string; workflow_id: string | null; params: string; channel_ids: string;
  enabled: boolean | number; created_at: number; updated_at: number;
}
export interface AlertStateRow { workspace_id: string; rule_id: string; status: string; since: number; value: number | null; message: string }
export interface AlertHistoryRow { id: string; workspace_id: string; rule_id: string; rule_name: string; status: string; at: number; value: number | null; message: string }
export interface AlertDeliveryRow {
  id: string; history_id: string; workspace_id: string; channel_id: string; payload: string; status: string; attempts: number;
  next_attempt_at: number | null; last_status: number | null; last_error: string | null; delivered_at: number | null;
}

export const toAlertChannel = (row: AlertChannelRow): AlertChannelRecord => ({
  workspaceId: row.workspace_id, id: row.id, name: row.name, url: row.url, secretCiphertext: row.secret, createdAt: row.created_at,
});

export const toAlertRule = (row: AlertRuleRow): AlertRuleRecord => ({
  workspaceId: row.workspace_id, id: row.id, name: row.name, kind: row.kind as AlertRuleKind, workflowId: row.workflow_id,
  params: JSON.parse(row.params) as Record<string, unknown>, channelIds: JSON.parse(row.channel_ids) as string[],
  enabled: row.enabled === true || row.enabled === 1, createdAt: row.created_at, updatedAt: row.updated_at,
});

export const toAlertState = (row: AlertStateRow): AlertStateRecord => ({
  workspaceId: row.workspace_id, ruleId: row.rule_id, status: row.status as AlertStatus, since: row.since, value: row.value, message: row.message,
});

export const toAlertHistory = (row: AlertHistoryRow): AlertHistoryRecord => ({
  id: row.id, workspaceId: row.workspace_id, ruleId: row.rule_id, ruleName: row.rule_name, status: row.status as AlertHistoryRecord['status'],
  at: row.at, value: row.value, message: row.message,
});

export const toAlertDelivery = (row: AlertDeliveryRow): AlertDeliveryRecord => ({
  id: row.id, historyId: row.history_id, workspaceId: row.workspace_id, channelId: row.channel_id, payload: row.payload,
  status: row.status as AlertDeliveryStatus, attempts: row.attempts, nextAttemptAt: row.next_attempt_at, lastStatus: row.last_status,
  lastError: row.last_error, deliveredAt: row.delivered_at,
});

/** Column values of a rule, in ALERT_RULE_COLUMNS order. */
export const ALERT_RULE_COLUMNS = 'workspace_id, id, name, kind, workflow_id, params, channel_ids, enabled, created_at, updated_at';
export function alertRuleValues(rule: AlertRuleRecord, booleans: 'int' | 'bool'): unknown[] {
  return [
    rule.workspaceId, rule.id, rule.name, rule.kind, rule.workflowId, JSON.stringify(rule.params), JSON.stringify(rule.channelIds),
    booleans === 'int' ? (rule.enabled ? 1 : 0) : rule.enabled, rule.createdAt, rule.updatedAt,
  ];
}

export const ALERT_HISTORY_COLUMNS = 'id, workspace_id, rule_id, rule_name, status, at, value, message';
export const alertHistoryValues = (h: AlertHistoryRecord): unknown[] => [h.id, h.workspaceId, h.ruleId, h.ruleName, h.status, h.at, h.value, h.message];

export const ALERT_DELIVERY_COLUMNS = 'id, history_id, workspace_id, channel_id, payload, status, attempts, next_attempt_at, last_status, last_error, delivered_at';
export const alertDeliveryValues = (d: AlertDeliveryRecord): unknown[] => [
  d.id, d.historyId, d.workspaceId, d.channelId, d.payload, d.status, d.attempts, d.nextAttemptAt, d.lastStatus, d.lastError, d.deliveredAt,
];

/**
 * The compare-and-set of a state change, as SQL with `?` placeholders (PostgreSQL numbers them)
 * and its values: from `ok` (a rule without a row is `ok`) an upsert that changes only an `ok`
 * row; from `firing` an update of a `firing` row only. Either changes no row when another node
 * moved the rule first, or when its state was cleared meanwhile (from `firing`).
 */
export function alertStateChange(state: AlertStateRecord, expected: AlertStatus): { sql: string; values: unknown[] } {
  if (expected === 'ok') {
    return {
      sql: `INSERT INTO alert_states (workspace_id, rule_id, status, since, value, message) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (workspace_id, rule_id) DO UPDATE SET status = excluded.status, since = excluded.since, value = excluded.value, message = excluded.message
        WHERE alert_states.status = 'ok'`,
      values: [state.workspaceId, state.ruleId, state.status, state.since, state.value, state.message],
    };
  }
  return {
    sql: "UPDATE alert_states SET status = ?, since = ?, value = ?, message = ? WHERE workspace_id = ? AND rule_id = ? AND status = 'firing'",
    values: [state.status, state.since, state.value, state.message, state.workspaceId, state.ruleId],
  };
}

/** The lease upsert: taken when free, expired, or already the owner's (`?`: owner, expires, now). */
export const ALERT_LEASE_SQL = `INSERT INTO alert_lease (name, owner, expires_at) VALUES ('evaluator', ?, ?)
  ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
  WHERE alert_lease.owner = excluded.owner OR alert_lease.expires_at <= ?`;

/** `?` placeholders → `$1, $2, …` (PostgreSQL). */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
