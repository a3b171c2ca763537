import type Database from 'better-sqlite3';
import { HookflowError } from '../../errors/catalogue.js';
import { decodeCursor, pageOf } from '../cursor.js';
import type {
  AlertChannelRecord, AlertDeliveryRecord, AlertDeliveryUpdate, AlertHistoryRecord, AlertRuleRecord, AlertScope, AlertStateRecord, AlertStore, AlertTransition,
} from '../alert-store.js';
import {
  toAlertChannel, toAlertDelivery, toAlertHistory, toAlertRule, toAlertState,
  type AlertChannelRow, type AlertDeliveryRow, type AlertHistoryRow, type AlertRuleRow, type AlertStateRow,
} from '../alert-rows.js';
import type { Page, PageRequest } from '../store.js';
import { sqliteRead, statementCache } from './statements.js';
import type { WriterClient } from './writer-client.js';

/** `AND workflow_id = ?` when the scope is one workflow. */
function scopeWhere(scope: AlertScope): { sql: string; params: unknown[] } {
  return scope.workflowId === null ? { sql: 'workspace_id = ?', params: [scope.workspaceId] } : { sql: 'workspace_id = ? AND workflow_id = ?', params: [scope.workspaceId, scope.workflowId] };
}

/** The SQLite side of alert storage: writes through the writer thread, reads on the read connection. */
export class SqliteAlertStore implements AlertStore {
  private readonly sql: (text: string) => Database.Statement;
  private readonly read = sqliteRead;

  constructor(
    private readonly writer: WriterClient,
    reader: Database.Database,
  ) {
    this.sql = statementCache(reader);
  }

  createAlertChannel(channel: AlertChannelRecord): Promise<void> {
    return this.writer.call('createAlertChannel', channel);
  }

  getAlertChannel(workspaceId: string, id: string): Promise<AlertChannelRecord | null> {
    return this.read(() => {
      const row = this.sql('SELECT * FROM alert_channels WHERE workspace_id = ? AND id = ?').get(workspaceId, id) as AlertChannelRow | undefined;
      return row === undefined ? null : toAlertChannel(row);
    });
  }

  listAlertChannels(workspaceId: string): Promise<AlertChannelRecord[]> {
    return this.read(() => (this.sql('SELECT * FROM alert_channels WHERE workspace_id = ? ORDER BY created_at, id').all(workspaceId) as AlertChannelRow[]).map(toAlertChannel));
  }

  listAllAlertChannels(): Promise<AlertChannelRecord[]> {
    return this.read(() => (this.sql('SELECT * FROM alert_channels ORDER BY workspace_id, id').all() as AlertChannelRow[]).map(toAlertChannel));
  }

  reencryptAlertChannels(updates: { workspaceId: string; id: string; secretCiphertext: string }[]): Promise<void> {
    return this.writer.call('reencryptAlertChannels', updates);
  }

  deleteAlertChannel(workspaceId: string, id: string): Promise<boolean> {
    return this.writer.call('deleteAlertChannel', { workspaceId, id });
  }

  putAlertRule(rule: AlertRuleRecord): Promise<void> {
    return this.writer.call('putAlertRule', rule);
  }

  getAlertRule(workspaceId: string, id: string): Promise<AlertRuleRecord | null> {
    return this.read(() => {
      const row = this.sql('SELECT * FROM alert_rules WHERE workspace_id = ? AND id = ?').get(workspaceId, id) as AlertRuleRow | undefined;
      return row === undefined ? null : toAlertRule(row);
    });
  }

  listAlertRules(workspaceId: string | null): Promise<AlertRuleRecord[]> {
    return this.read(() =>
      (workspaceId === null
        ? (this.sql('SELECT * FROM alert_rules ORDER BY created_at, id').all() as AlertRuleRow[])
        : (this.sql('SELECT * FROM alert_rules WHERE workspace_id = ? ORDER BY created_at, id').all(workspaceId) as AlertRuleRow[])
      ).map(toAlertRule),
    );
  }

  deleteAlertRule(workspaceId: string, id: string): Promise<boolean> {
    return this.writer.call('deleteAlertRule', { workspaceId, id });
  }

  listAlertStates(workspaceId: string | null): Promise<AlertStateRecord[]> {
    return this.read(() =>
      (workspaceId === null
        ? (this.sql('SELECT * FROM alert_states').all() as AlertStateRow[])
        : (this.sql('SELECT * FROM alert_states WHERE workspace_id = ?').all(workspaceId) as AlertStateRow[])
      ).map(toAlertState),
    );
  }

  clearAlertState(workspaceId: string, ruleId: string): Promise<void> {
    return this.writer.call('clearAlertState', { workspaceId, ruleId });
  }

  transitionAlert(transition: AlertTransition): Promise<boolean> {
    return this.writer.call('transitionAlert', transition);
  }

  listAlertHistory(workspaceId: string, filter: { ruleId?: string | undefined }, page: PageRequest): Promise<Page<AlertHistoryRecord>> {
    let where = 'workspace_id = ?';
    const params: unknown[] = [workspaceId];
    if (filter.ruleId !== undefined) {
      where += ' AND rule_id = ?';
      params.push(filter.ruleId);
    }
    if (page.cursor !== undefined) {
      const after = decodeCursor(page.cursor);
      if (after === null) return Promise.reject(new HookflowError('HOOKFLOW_ERR_VALIDATION', 'Invalid cursor'));
      where += ' AND (at < ? OR (at = ? AND id < ?))';
      params.push(after.time, after.time, after.id);
    }
    return this.read(() => {
      const rows = (this.sql(`SELECT * FROM alert_history WHERE ${where} ORDER BY at DESC, id DESC LIMIT ?`).all(...params, page.limit + 1) as AlertHistoryRow[]).map(toAlertHistory);
      return pageOf(rows, page.limit, (h) => ({ time: h.at, id: h.id }));
    });
  }

  listAlertDeliveries(historyIds: readonly string[]): Promise<AlertDeliveryRecord[]> {
    if (historyIds.length === 0) return Promise.resolve([]);
    return this.read(() =>
      (this.sql('SELECT * FROM alert_deliveries WHERE history_id IN (SELECT value FROM json_each(?)) ORDER BY id').all(JSON.stringify(historyIds)) as AlertDeliveryRow[]).map(toAlertDelivery),
    );
  }

  dueAlertDeliveries(now: number, limit: number): Promise<AlertDeliveryRecord[]> {
    return this.read(() =>
      (this.sql("SELECT * FROM alert_deliveries WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?").all(now, limit) as AlertDeliveryRow[]).map(toAlertDelivery),
    );
  }

  claimAlertDelivery(id: string, now: number, until: number): Promise<boolean> {
    return this.writer.call('claimAlertDelivery', { id, now, until });
  }

  recordAlertDelivery(update: AlertDeliveryUpdate): Promise<void> {
    return this.writer.call('recordAlertDelivery', update);
  }

  acquireAlertLease(owner: string, now: number, ttlMs: number): Promise<boolean> {
    return this.writer.call('acquireAlertLease', { owner, now, ttlMs });
  }

  releaseAlertLease(owner: string): Promise<void> {
    return this.writer.call('releaseAlertLease', owner);
  }

  countFinishedRuns(scope: AlertScope, since: number): Promise<{ succeeded: number; failed: number }> {
    const where = scopeWhere(scope);
    return this.read(() => {
      const rows = this.sql(`SELECT status, COUNT(*) AS n FROM runs WHERE ${where.sql} AND finished_at >= ? AND status IN ('succeeded', 'failed') GROUP BY status`).all(...where.params, since) as { status: string; n: number }[];
      return { succeeded: rows.find((r) => r.status === 'succeeded')?.n ?? 0, failed: rows.find((r) => r.status === 'failed')?.n ?? 0 };
    });
  }

  oldestDueRun(scope: AlertScope, now: number): Promise<number | null> {
    const where = scopeWhere(scope);
    return this.read(() => (this.sql(`SELECT MIN(available_at) AS due FROM runs WHERE status = 'queued' AND available_at <= ? AND ${where.sql}`).get(now, ...where.params) as { due: number | null }).due);
  }

  recentEventTimes(workspaceId: string, workflowId: string, limit: number): Promise<number[]> {
    return this.read(() =>
      (this.sql('SELECT received_at FROM events WHERE workspace_id = ? AND workflow_id = ? AND test = 0 ORDER BY received_at DESC, id DESC LIMIT ?').all(workspaceId, workflowId, limit) as { received_at: number }[]).map((r) => r.received_at),
    );
  }
}
