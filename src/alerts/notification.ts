import { createHmac, randomBytes } from 'node:crypto';
import type { AlertHistoryRecord, AlertRuleRecord } from '../store/alert-store.js';

/*
 * What a channel receives: a Slack-compatible JSON body (an incoming webhook accepts it as is:
 * `text`, `blocks` and `metadata`), signed the Standard Webhooks way so any receiver can check
 * it came from this hookflow.
 */

const SECRET_PREFIX = 'whsec_';

/** A new signing secret: `whsec_` + base64 of 24 random bytes (the Standard Webhooks form). */
export function newChannelSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(24).toString('base64')}`;
}

/** Associated data of a channel's secret: moved to another channel, or its URL edited in the database, it no longer decrypts. */
export function channelSecretAssociatedData(channel: { workspaceId: string; id: string; url: string }): string {
  return `hookflow-alert-channel:${channel.workspaceId}:${channel.id}:${channel.url}`;
}

/**
 * The Standard Webhooks headers of one attempt: `webhook-id` (the same on every retry, so the
 * receiver can deduplicate), `webhook-timestamp` (Unix seconds of this attempt) and
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body" under the secret's bytes>`.
 */
export function signatureHeaders(options: { secret: string; id: string; timestampSeconds: number; body: string }): Record<string, string> {
  const key = Buffer.from(options.secret.startsWith(SECRET_PREFIX) ? options.secret.slice(SECRET_PREFIX.length) : options.secret, 'base64');
  const timestamp = String(options.timestampSeconds);
  const signature = createHmac('sha256', key).update(`${options.id}.${timestamp}.${options.body}`).digest('base64');
  return { 'webhook-id': options.id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` };
}

/** Slack mrkdwn treats these three as markup; names and ids come from users. */
const escapeMrkdwn = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** What a notification says: a state change of a rule, or a test send of a channel. */
export interface NotificationContent {
  status: 'firing' | 'resolved' | 'test';
  workspaceId: string;
  workflowId: string | null;
  ruleId: string | null;
  ruleName: string;
  kind: string | null;
  value: number | null;
  message: string;
  at: number;
  historyId: string | null;
}

/** The content of a rule's state change. */
export function changeContent(rule: AlertRuleRecord, history: AlertHistoryRecord): NotificationContent {
  return {
    status: history.status, workspaceId: rule.workspaceId, workflowId: rule.workflowId, ruleId: rule.id, ruleName: rule.name, kind: rule.kind,
    value: history.value, message: history.message, at: history.at, historyId: history.id,
  };
}

const HEADLINES = { firing: '🔴 FIRING', resolved: '✅ RESOLVED', test: '🧪 TEST' } as const;

/** The JSON body, made once per notification (every attempt sends the same bytes). Holds no secret. */
export function notificationBody(content: NotificationContent): string {
  const scope = content.workflowId === null ? `workspace ${content.workspaceId}` : `workflow ${content.workspaceId}/${content.workflowId}`;
  const line = `[${HEADLINES[content.status]}] ${content.ruleName} (${scope}): ${content.message}`;
  const at = new Date(content.at).toISOString();
  return JSON.stringify({
    text: escapeMrkdwn(line),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${escapeMrkdwn(`[${HEADLINES[content.status]}] ${content.ruleName}`)}*\n${escapeMrkdwn(`${scope}: ${content.message}`)}` } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: escapeMrkdwn(`hookflow alert${content.kind === null ? '' : ` · ${content.kind}`} · ${at}`) }] },
    ],
    metadata: {
      event_type: 'hookflow_alert',
      event_payload: {
        status: content.status,
        workspace_id: content.workspaceId,
        workflow_id: content.workflowId ?? '',
        rule_id: content.ruleId ?? '',
        rule_name: content.ruleName,
        kind: content.kind ?? '',
        ...(content.value === null ? {} : { value: content.value }),
        message: content.message,
        at,
        history_id: content.historyId ?? '',
      },
    },
  });
}
