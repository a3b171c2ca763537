import type Database from 'better-sqlite3';
import { HookflowError } from '../../errors/catalogue.js';
import type { AlertChannelRecord, AlertDeliveryUpdate, AlertRuleRecord, AlertTransition } from '../alert-store.js';
import {
  ALERT_DELIVERY_COLUMNS, ALERT_HISTORY_COLUMNS, ALERT_LEASE_SQL, ALERT_RULE_COLUMNS, alertDeliveryValues, alertHistoryValues, alertRuleValues, alertStateChange,
} from '../alert-rows.js';
import { statementCache } from './statements.js';

/**
 * The alert writes (alert-store.ts), run by the writer thread inside its group-commit
 * transaction like every other write (SqliteWrites delegates to these).
 */
export class SqliteAlertWrites {
  private readonly sql: (text: string) => Database.Statement;

  constructor(db: Database.Database) {
    this.sql = statementCache(db);
  }

  createAlertChannel(channel: AlertChannelRecord): void {
    const inserted = this.sql('INSERT INTO alert_channels (workspace_id, id, name, url, secret, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING').run(
      channel.workspaceId, channel.id, channel.name, channel.url, channel.secretCiphertext, channel.createdAt,
    );
    if (inserted.changes === 0) throw new HookflowError('HOOKFLOW_ERR_CONFLICT', `Alert channel "${channel.id}" already exists`);
  }

  reencryptAlertChannels(updates: { workspaceId: string; id: string; secretCiphertext: string }[]): void {
    const update = this.sql('UPDATE alert_channels SET secret = ? WHERE workspace_id = ? AND id = ?');
    for (const u of updates) update.run(u.secretCiphertext, u.workspaceId, u.id);
  }

  deleteAlertChannel(args: { workspaceId: string; id: string }): boolean {
    this.sql("UPDATE alert_deliveries SET status = 'failed', last_error = 'channel deleted', next_attempt_at = NULL WHERE workspace_id = ? AND channel_id = ? AND status = 'pending'").run(args.workspaceId, args.id);
    return this.sql('DELETE FROM alert_channels WHERE workspace_id = ? AND id = ?').run(args.workspaceId, args.id).changes > 0;
  }

  putAlertRule(rule: AlertRuleRecord): void {
    this.sql(`INSERT OR REPLACE INTO alert_rules (${ALERT_RULE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(...alertRuleValues(rule, 'int'));
  }

  deleteAlertRule(args: { workspaceId: string; id: string }): boolean {
    this.clearAlertState({ workspaceId: args.workspaceId, ruleId: args.id });
    return this.sql('DELETE FROM alert_rules WHERE workspace_id = ? AND id = ?').run(args.workspaceId, args.id).changes > 0;
  }

  clearAlertState(args: { workspaceId: string; ruleId: string }): void {
    this.sql('DELETE FROM alert_states WHERE workspace_id = ? AND rule_id = ?').run(args.workspaceId, args.ruleId);
  }

  transitionAlert(transition: AlertTransition): boolean {
    const change = alertStateChange(transition.state, transition.expected);
    if (this.sql(change.sql).run(...change.values).changes === 0) return false;
    this.sql(`INSERT INTO alert_history (${ALERT_HISTORY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(...alertHistoryValues(transition.history));
    const insert = this.sql(`INSERT INTO alert_deliveries (${ALERT_DELIVERY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    for (const delivery of transition.deliveries) insert.run(...alertDeliveryValues(delivery));
    return true;
  }

  claimAlertDelivery(args: { id: string; now: number; until: number }): boolean {
    return this.sql("UPDATE alert_deliveries SET next_attempt_at = ? WHERE id = ? AND status = 'pending' AND next_attempt_at <= ?").run(args.until, args.id, args.now).changes > 0;
  }

  recordAlertDelivery(update: AlertDeliveryUpdate): void {
    this.sql('UPDATE alert_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_status = ?, last_error = ?, delivered_at = ? WHERE id = ?').run(
      update.status, update.attempts, update.nextAttemptAt, update.lastStatus, update.lastError, update.deliveredAt, update.id,
    );
  }

  acquireAlertLease(args: { owner: string; now: number; ttlMs: number }): boolean {
    return this.sql(ALERT_LEASE_SQL).run(args.owner, args.now + args.ttlMs, args.now).changes > 0;
  }

  releaseAlertLease(owner: string): void {
    this.sql("DELETE FROM alert_lease WHERE name = 'evaluator' AND owner = ?").run(owner);
  }
}
