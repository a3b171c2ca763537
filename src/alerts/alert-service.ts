import { z } from 'zod';
import type { EgressPolicy } from '../engine/net/address-policy.js';
import { HookflowError } from '../errors/catalogue.js';
import type { SecretCipher } from '../secrets/cipher.js';
import type { AlertChannelRecord, AlertDeliveryRecord, AlertHistoryRecord, AlertRuleRecord } from '../store/alert-store.js';
import { newId } from '../store/ids.js';
import type { Page, PageRequest, Store } from '../store/store.js';
import type { AlertNotifier } from './alert-notifier.js';
import { createRuleBody, parseBody, parseRuleParams, patchRuleBody } from './alert-rules.js';
import { checkChannelUrl } from './channel-url.js';
import { channelSecretAssociatedData, newChannelSecret, notificationBody } from './notification.js';

export interface AlertServiceOptions {
  store: Store;
  cipher: SecretCipher;
  notifier: AlertNotifier;
  /** The egress guard channel URLs are checked against when saved. */
  egress: EgressPolicy;
  /** Most rules and channels per workspace (HOOKFLOW_ALERTS_MAX_RULES, HOOKFLOW_ALERTS_MAX_CHANNELS). */
  limits: { rules: number; channels: number };
  clock: () => number;
}

/** `POST …/alert-channels`. */
export const createChannelBody = z.object({ name: z.string().min(1).max(200), url: z.string().min(1) }).strict();

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** A channel as the API shows it: never its secret. */
export function channelView(channel: AlertChannelRecord) {
  return { id: channel.id, name: channel.name, url: channel.url, createdAt: iso(channel.createdAt) };
}

export function ruleView(rule: AlertRuleRecord) {
  return {
    id: rule.id, name: rule.name, kind: rule.kind, workflowId: rule.workflowId, params: rule.params, channelIds: rule.channelIds, enabled: rule.enabled,
    createdAt: iso(rule.createdAt), updatedAt: iso(rule.updatedAt),
  };
}

function deliveryView(delivery: AlertDeliveryRecord) {
  return {
    id: delivery.id, channelId: delivery.channelId, status: delivery.status, attempts: delivery.attempts, lastStatus: delivery.lastStatus,
    lastError: delivery.lastError, nextAttemptAt: delivery.status === 'pending' ? iso(delivery.nextAttemptAt) : null, deliveredAt: iso(delivery.deliveredAt),
  };
}

function historyView(entry: AlertHistoryRecord, deliveries: AlertDeliveryRecord[]) {
  return {
    id: entry.id, ruleId: entry.ruleId, ruleName: entry.ruleName, status: entry.status, at: iso(entry.at), value: entry.value, message: entry.message,
    deliveries: deliveries.map(deliveryView),
  };
}

/**
 * The alert side of the management API (docs/api.md, "Alerts"): rules, channels, current state
 * and history. A channel's signing secret is generated here, shown once in the create answer,
 * and stored only encrypted.
 */
export class AlertService {
  constructor(private readonly options: AlertServiceOptions) {}

  private get store() {
    return this.options.store.alerts;
  }

  private async requireWorkspace(workspaceId: string): Promise<void> {
    if ((await this.options.store.getWorkspace(workspaceId)) === null) throw new HookflowError('HOOKFLOW_ERR_NOT_FOUND', `Workspace "${workspaceId}" not found`);
  }

  private async requireChannel(workspaceId: string, id: string): Promise<AlertChannelRecord> {
    await this.requireWorkspace(workspaceId);
    const channel = await this.store.getAlertChannel(workspaceId, id);
    if (channel === null) throw new HookflowError('HOOKFLOW_ERR_NOT_FOUND', `Alert channel "${id}" not found`);
    return channel;
  }

  private async requireRule(workspaceId: string, id: string): Promise<AlertRuleRecord> {
    await this.requireWorkspace(workspaceId);
    const rule = await this.store.getAlertRule(workspaceId, id);
    if (rule === null) throw new HookflowError('HOOKFLOW_ERR_NOT_FOUND', `Alert rule "${id}" not found`);
    return rule;
  }

  /** Creates a channel; the answer carries its `secret` this once. */
  async createChannel(workspaceId: string, body: unknown) {
    const input = parseBody(createChannelBody, body);
    await this.requireWorkspace(workspaceId);
    const now = this.options.clock();
    const url = checkChannelUrl(input.url, this.options.egress);
    await this.requireRoom('channels', (await this.store.listAlertChannels(workspaceId)).length);
    const id = newId('alc', now);
    const secret = newChannelSecret();
    const channel: AlertChannelRecord = {
      workspaceId, id, name: input.name, url, createdAt: now,
      secretCiphertext: this.options.cipher.encrypt(secret, channelSecretAssociatedData({ workspaceId, id, url })),
    };
    await this.store.createAlertChannel(channel);
    return { ...channelView(channel), secret };
  }

  async listChannels(workspaceId: string) {
    await this.requireWorkspace(workspaceId);
    return { items: (await this.store.listAlertChannels(workspaceId)).map(channelView) };
  }

  async getChannel(workspaceId: string, id: string) {
    return channelView(await this.requireChannel(workspaceId, id));
  }

  /** 409 while a rule still notifies the channel. */
  async deleteChannel(workspaceId: string, id: string): Promise<void> {
    await this.requireChannel(workspaceId, id);
    const users = (await this.store.listAlertRules(workspaceId)).filter((rule) => rule.channelIds.includes(id));
    if (users.length > 0) {
      throw new HookflowError('HOOKFLOW_ERR_CONFLICT', 'Alert channel in use', { details: [`used by rules: ${users.map((rule) => rule.id).join(', ')}`] });
    }
    await this.store.deleteAlertChannel(workspaceId, id);
  }

  /** Sends a signed test notification now and says how it went (nothing is stored). */
  async testChannel(workspaceId: string, id: string) {
    const channel = await this.requireChannel(workspaceId, id);
    const now = this.options.clock();
    const messageId = newId('msg', now);
    const body = notificationBody({
      status: 'test', workspaceId, workflowId: null, ruleId: null, ruleName: `Test of channel ${channel.name}`, kind: null, value: null,
      message: 'a test notification from hookflow: this channel receives alerts', at: now, historyId: null,
    });
    const result = await this.options.notifier.send(channel, messageId, body);
    return { id: messageId, delivered: result.delivered, status: result.status, error: result.error };
  }

  /** 400 when the workspace already has as many rules or channels as allowed (checked on create). */
  private async requireRoom(what: 'rules' | 'channels', count: number): Promise<void> {
    const limit = this.options.limits[what];
    if (count < limit) return;
    const setting = what === 'rules' ? 'HOOKFLOW_ALERTS_MAX_RULES' : 'HOOKFLOW_ALERTS_MAX_CHANNELS';
    throw new HookflowError('HOOKFLOW_ERR_VALIDATION', `Too many alert ${what}`, { details: [`a workspace has at most ${limit} alert ${what} (${setting})`] });
  }

  /** Checks what a rule refers to: its workflow (required for `silence`; skipped on a patch, which cannot change it) and its channels. */
  private async checkReferences(workspaceId: string, rule: Pick<AlertRuleRecord, 'kind' | 'workflowId' | 'channelIds'>, options: { workflow: boolean }): Promise<void> {
    const problems: string[] = [];
    if (options.workflow && rule.kind === 'silence' && rule.workflowId === null) problems.push('workflowId: a silence rule watches one workflow');
    if (options.workflow && rule.workflowId !== null && (await this.options.store.getWorkflow(workspaceId, rule.workflowId)) === null) {
      problems.push(`workflowId: no workflow "${rule.workflowId}" in this workspace`);
    }
    const channels = new Set((await this.store.listAlertChannels(workspaceId)).map((channel) => channel.id));
    for (const id of rule.channelIds) if (!channels.has(id)) problems.push(`channelIds: no alert channel "${id}" in this workspace`);
    if (problems.length > 0) throw new HookflowError('HOOKFLOW_ERR_VALIDATION', 'Invalid alert rule', { details: problems });
  }

  async createRule(workspaceId: string, body: unknown) {
    const input = parseBody(createRuleBody, body);
    await this.requireWorkspace(workspaceId);
    const now = this.options.clock();
    const rule: AlertRuleRecord = {
      workspaceId, id: newId('alr', now), name: input.name, kind: input.kind, workflowId: input.workflowId, params: parseRuleParams(input.kind, input.params),
      channelIds: [...new Set(input.channelIds)], enabled: input.enabled, createdAt: now, updatedAt: now,
    };
    await this.checkReferences(workspaceId, rule, { workflow: true });
    await this.requireRoom('rules', (await this.store.listAlertRules(workspaceId)).length);
    await this.store.putAlertRule(rule);
    return ruleView(rule);
  }

  async listRules(workspaceId: string) {
    await this.requireWorkspace(workspaceId);
    return { items: (await this.store.listAlertRules(workspaceId)).map(ruleView) };
  }

  async getRule(workspaceId: string, id: string) {
    return ruleView(await this.requireRule(workspaceId, id));
  }

  /** Changes name, params, channels or enabled; disabling forgets the rule's state (no notification). */
  async patchRule(workspaceId: string, id: string, body: unknown) {
    const input = parseBody(patchRuleBody, body);
    const existing = await this.requireRule(workspaceId, id);
    const rule: AlertRuleRecord = {
      ...existing,
      ...(input.name === undefined ? {} : { name: input.name }),
      ...(input.params === undefined ? {} : { params: parseRuleParams(existing.kind, input.params) }),
      ...(input.channelIds === undefined ? {} : { channelIds: [...new Set(input.channelIds)] }),
      ...(input.enabled === undefined ? {} : { enabled: input.enabled }),
      updatedAt: this.options.clock(),
    };
    await this.checkReferences(workspaceId, rule, { workflow: false });
    await this.store.putAlertRule(rule);
    if (!rule.enabled && existing.enabled) await this.store.clearAlertState(workspaceId, id);
    return ruleView(rule);
  }

  async deleteRule(workspaceId: string, id: string): Promise<void> {
    await this.requireRule(workspaceId, id);
    await this.store.deleteAlertRule(workspaceId, id);
  }

  /** Every rule of the workspace with its current state (`ok` until it first fires). */
  async currentAlerts(workspaceId: string) {
    await this.requireWorkspace(workspaceId);
    const [rules, states] = await Promise.all([this.store.listAlertRules(workspaceId), this.store.listAlertStates(workspaceId)]);
    const byRule = new Map(states.map((state) => [state.ruleId, state]));
    const items = rules.map((rule) => {
      const state = byRule.get(rule.id);
      return {
        ruleId: rule.id, ruleName: rule.name, kind: rule.kind, workflowId: rule.workflowId, enabled: rule.enabled,
        status: state?.status ?? 'ok', since: iso(state?.since ?? null), value: state?.value ?? null, message: state?.message ?? null,
      };
    });
    return { firing: items.filter((item) => item.status === 'firing').length, items };
  }

  /** State changes, newest first, each with its deliveries (attempts, last error). */
  async history(workspaceId: string, filter: { ruleId?: string | undefined }, page: PageRequest): Promise<Page<ReturnType<typeof historyView>>> {
    await this.requireWorkspace(workspaceId);
    const entries = await this.store.listAlertHistory(workspaceId, filter, page);
    const deliveries = await this.store.listAlertDeliveries(entries.items.map((entry) => entry.id));
    return { items: entries.items.map((entry) => historyView(entry, deliveries.filter((d) => d.historyId === entry.id))), nextCursor: entries.nextCursor };
  }
}
