import type { Pool, QueryResultRow } from 'pg';
import { HookflowError } from '../../errors/catalogue.js';
import { decodeCursor, pageOf } from '../cursor.js';
import type {
  AlertChannelRecord, AlertDeliveryRecord, AlertDeliveryUpdate, AlertHistoryRecord, AlertRuleRecord, AlertScope, AlertStateRecord, AlertStore, AlertTransition,
} from '../alert-store.js';
import {
  ALERT_DELIVERY_COLUMNS, ALERT_HISTORY_COLUMNS, ALERT_LEASE_SQL, ALERT_RULE_COLUMNS, alertDeliveryValues, alertHistoryValues, alertRuleValues, alertStateChange, numbered,
  toAlertChannel, toAlertDelivery, toAlertHistory, toAlertRule, toAlertState,
  type AlertChannelRow, type AlertDeliveryRow, type AlertHistoryRow, type AlertRuleRow, type AlertStateRow,
} from '../alert-rows.js';
import type { Page, PageRequest } from '../store.js';
import { storageError } from './pg-errors.js';
import { withTransaction } from './pg-pool.js';

/** `workspace_id = $n [AND workflow_id = $n+1]`, numbered after `offset` earlier parameters. */
function scopeWhere(scope: AlertScope, offset: number): { sql: string; params: unknown[] } {
  return scope.workflowId === null
    ? { sql: `workspace_id = $${offset + 1}`, params: [scope.workspaceId] }
    : { sql: `workspace_id = $${offset + 1} AND workflow_id = $${offset + 2}`, params: [scope.workspaceId, scope.workflowId] };
}

/**
 * The PostgreSQL side of alert storage. Every write is one statement, except a state change,
 * whose compare-and-set, history entry and deliveries commit together: under READ COMMITTED a
 * second node's upsert of the same rule waits for the first, then finds the status changed and
 * writes nothing.
 */
export class PostgresAlertStore implements AlertStore {
  constructor(private readonly pool: Pool) {}

  private async rows<Row extends QueryResultRow>(action: string, text: string, values: unknown[] = []): Promise<Row[]> {
    try {
      return (await this.pool.query<Row>(text, values)).rows;
    } catch (error) {
      throw storageError(error, action);
    }
  }

  private async changes(action: string, text: string, values: unknown[]): Promise<number> {
    try {
      return (await this.pool.query(text, values)).rowCount ?? 0;
    } catch (error) {
      throw storageError(error, action);
    }
  }

  async createAlertChannel(channel: AlertChannelRecord): Promise<void> {
    const inserted = await this.changes('create alert channel', 'INSERT INTO alert_channels (workspace_id, id, name, url, secret, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING', [
      channel.workspaceId, channel.id, channel.name, channel.url, channel.secretCiphertext, channel.createdAt,
    ]);
    if (inserted === 0) throw new HookflowError('HOOKFLOW_ERR_CONFLICT', `Alert channel "${channel.id}" already exists`);
  }

  async getAlertChannel(workspaceId: string, id: string): Promise<AlertChannelRecord | null> {
    const [row] = await this.rows<AlertChannelRow>('read', 'SELECT * FROM alert_channels WHERE workspace_id = $1 AND id = $2', [workspaceId, id]);
    return row === undefined ? null : toAlertChannel(row);
  }

  async listAlertChannels(workspaceId: string): Promise<AlertChannelRecord[]> {
    return (await this.rows<AlertChannelRow>('read', 'SELECT * FROM alert_channels WHERE workspace_id = $1 ORDER BY created_at, id', [workspaceId])).map(toAlertChannel);
  }

  async listAllAlertChannels(): Promise<AlertChannelRecord[]> {
    return (await this.rows<AlertChannelRow>('read', 'SELECT * FROM alert_channels ORDER BY workspace_id, id')).map(toAlertChannel);
  }

  reencryptAlertChannels(updates: { workspaceId: string; id: string; secretCiphertext: string }[]): Promise<void> {
    return withTransaction(this.pool, 'reencrypt alert channels', async (client) => {
      for (const u of updates) await client.query('UPDATE alert_channels SET secret = $1 WHERE workspace_id = $2 AND id = $3', [u.secretCiphertext, u.workspaceId, u.id]);
    });
  }

  deleteAlertChannel(workspaceId: string, id: string): Promise<boolean> {
    return withTransaction(this.pool, 'delete alert channel', async (client) => {
      await client.query("UPDATE alert_deliveries SET status = 'failed', last_error = 'channel deleted', next_attempt_at = NULL WHERE workspace_id = $1 AND channel_id = $2 AND status = 'pending'", [workspaceId, id]);
      return ((await client.query('DELETE FROM alert_channels WHERE workspace_id = $1 AND id = $2', [workspaceId, id])).rowCount ?? 0) > 0;
    });
  }

  async putAlertRule(rule: AlertRuleRecord): Promise<void> {
    await this.changes('put alert rule', `INSERT INTO alert_rules (${ALERT_RULE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
      ON CONFLICT (workspace_id, id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind, workflow_id = EXCLUDED.workflow_id, params = EXCLUDED.params,
        channel_ids = EXCLUDED.channel_ids, enabled = EXCLUDED.enabled, updated_at = EXCLUDED.updated_at`, alertRuleValues(rule, 'bool'));
  }

  async getAlertRule(workspaceId: string, id: string): Promise<AlertRuleRecord | null> {
    const [row] = await this.rows<AlertRuleRow>('read', 'SELECT * FROM alert_rules WHERE workspace_id = $1 AND id = $2', [workspaceId, id]);
    return row === undefined ? null : toAlertRule(row);
  }

  async listAlertRules(workspaceId: string | null): Promise<AlertRuleRecord[]> {
    const rows = workspaceId === null
      ? await this.rows<AlertRuleRow>('read', 'SELECT * FROM alert_rules ORDER BY created_at, id')
      : await this.rows<AlertRuleRow>('read', 'SELECT * FROM alert_rules WHERE workspace_id = $1 ORDER BY created_at, id', [workspaceId]);
    return rows.map(toAlertRule);
  }

  deleteAlertRule(workspaceId: string, id: string): Promise<boolean> {
    return withTransaction(this.pool, 'delete alert rule', async (client) => {
      await client.query('DELETE FROM alert_states WHERE workspace_id = $1 AND rule_id = $2', [workspaceId, id]);
      return ((await client.query('DELETE FROM alert_rules WHERE workspace_id = $1 AND id = $2', [workspaceId, id])).rowCount ?? 0) > 0;
    });
  }

  async listAlertStates(workspaceId: string | null): Promise<AlertStateRecord[]> {
    const rows = workspaceId === null
      ? await this.rows<AlertStateRow>('read', 'SELECT * FROM alert_states')
      : await this.rows<AlertStateRow>('read', 'SELECT * FROM alert_states WHERE workspace_id = $1', [workspaceId]);
    return rows.map(toAlertState);
  }

  async clearAlertState(workspaceId: string, ruleId: string): Promise<void> {
    await this.changes('clear alert state', 'DELETE FROM alert_states WHERE workspace_id = $1 AND rule_id = $2', [workspaceId, ruleId]);
  }

  transitionAlert(transition: AlertTransition): Promise<boolean> {
    return withTransaction(this.pool, 'alert state change', async (client) => {
      const change = alertStateChange(transition.state, transition.expected);
      if (((await client.query(numbered(change.sql), change.values)).rowCount ?? 0) === 0) return false;
      await client.query(`INSERT INTO alert_history (${ALERT_HISTORY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, alertHistoryValues(transition.history));
      for (const delivery of transition.deliveries) {
        await client.query(`INSERT INTO alert_deliveries (${ALERT_DELIVERY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, alertDeliveryValues(delivery));
      }
      return true;
    });
  }

  async listAlertHistory(workspaceId: string, filter: { ruleId?: string | undefined }, page: PageRequest): Promise<Page<AlertHistoryRecord>> {
    const params: unknown[] = [workspaceId];
    let where = 'workspace_id = $1';
    if (filter.ruleId !== undefined) {
      params.push(filter.ruleId);
      where += ` AND rule_id = $${params.length}`;
    }
    if (page.cursor !== undefined) {
      const after = decodeCursor(page.cursor);
      if (after === null) throw new HookflowError('HOOKFLOW_ERR_VALIDATION', 'Invalid cursor');
      params.push(after.time, after.id);
      where += ` AND (at, id) < ($${params.length - 1}, $${params.length})`;
    }
    params.push(page.limit + 1);
    const rows = (await this.rows<AlertHistoryRow>('read', `SELECT * FROM alert_history WHERE ${where} ORDER BY at DESC, id DESC LIMIT $${params.length}`, params)).map(toAlertHistory);
    return pageOf(rows, page.limit, (h) => ({ time: h.at, id: h.id }));
  }

  async listAlertDeliveries(historyIds: readonly string[]): Promise<AlertDeliveryRecord[]> {
    if (historyIds.length === 0) return [];
    return (await this.rows<AlertDeliveryRow>('read', 'SELECT * FROM alert_deliveries WHERE history_id = ANY($1) ORDER BY id', [historyIds])).map(toAlertDelivery);
  }

  async dueAlertDeliveries(now: number, limit: number): Promise<AlertDeliveryRecord[]> {
    return (await this.rows<AlertDeliveryRow>('read', "SELECT * FROM alert_deliveries WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2", [now, limit])).map(toAlertDelivery);
  }

  async claimAlertDelivery(id: string, now: number, until: number): Promise<boolean> {
    return (await this.changes('claim alert delivery', "UPDATE alert_deliveries SET next_attempt_at = $1 WHERE id = $2 AND status = 'pending' AND next_attempt_at <= $3", [until, id, now])) > 0;
  }

  async recordAlertDelivery(update: AlertDeliveryUpdate): Promise<void> {
    await this.changes('record alert delivery', 'UPDATE alert_deliveries SET status = $1, attempts = $2, next_attempt_at = $3, last_status = $4, last_error = $5, delivered_at = $6 WHERE id = $7', [
      update.status, update.attempts, update.nextAttemptAt, update.lastStatus, update.lastError, update.deliveredAt, update.id,
    ]);
  }

  async acquireAlertLease(owner: string, now: number, ttlMs: number): Promise<boolean> {
    return (await this.changes('alert lease', numbered(ALERT_LEASE_SQL), [owner, now + ttlMs, now])) > 0;
  }

  async releaseAlertLease(owner: string): Promise<void> {
    await this.changes('alert lease', "DELETE FROM alert_lease WHERE name = 'evaluator' AND owner = $1", [owner]);
  }

  async countFinishedRuns(scope: AlertScope, since: number): Promise<{ succeeded: number; failed: number }> {
    const where = scopeWhere(scope, 1);
    const rows = await this.rows<{ status: string; n: number | string }>('read', `SELECT status, COUNT(*) AS n FROM runs WHERE finished_at >= $1 AND ${where.sql} AND status IN ('succeeded', 'failed') GROUP BY status`, [since, ...where.params]);
    const count = (status: string): number => Number(rows.find((r) => r.status === status)?.n ?? 0);
    return { succeeded: count('succeeded'), failed: count('failed') };
  }

  async oldestDueRun(scope: AlertScope, now: number): Promise<number | null> {
    const where = scopeWhere(scope, 1);
    const [row] = await this.rows<{ due: number | string | null }>('read', `SELECT MIN(available_at) AS due FROM runs WHERE status = 'queued' AND available_at <= $1 AND ${where.sql}`, [now, ...where.params]);
    return row?.due === null || row?.due === undefined ? null : Number(row.due);
  }

  async recentEventTimes(workspaceId: string, workflowId: string, limit: number): Promise<number[]> {
    const rows = await this.rows<{ received_at: number }>('read', 'SELECT received_at FROM events WHERE workspace_id = $1 AND workflow_id = $2 AND NOT test ORDER BY received_at DESC, id DESC LIMIT $3', [workspaceId, workflowId, limit]);
    return rows.map((r) => Number(r.received_at));
  }
}
