import { z } from 'zod';
import { createChannelBody } from '../alerts/alert-service.js';
import { createRuleBody, patchRuleBody } from '../alerts/alert-rules.js';
import { errorAnswer, pageOf } from './api-schemas.js';
import { alertHistoryQuery } from './alert-routes.js';
import type { RouteDoc } from './openapi.js';

/*
 * OpenAPI entries of the alert routes (alert-routes.ts), spread into ROUTE_DOCS. The prose
 * reference is docs/api.md ("Alerts") and docs/observability.md ("Built-in alerts").
 */

const json = (description: string, schema: z.ZodType) => ({ description, schema });
const noContent = { description: 'Done; no body' };
const time = z.string().describe('ISO 8601');

const ruleAnswer = z.object({
  id: z.string(), name: z.string(), kind: z.string(), workflowId: z.string().nullable(), params: z.record(z.string(), z.unknown()),
  channelIds: z.array(z.string()), enabled: z.boolean(), createdAt: time, updatedAt: time,
});
const channelAnswer = z.object({ id: z.string(), name: z.string(), url: z.string(), createdAt: time });
const deliveryAnswer = z.object({
  id: z.string().describe('also the webhook-id of every attempt'), channelId: z.string(), status: z.enum(['pending', 'delivered', 'failed']), attempts: z.number(),
  lastStatus: z.number().nullable(), lastError: z.string().nullable(), nextAttemptAt: time.nullable(), deliveredAt: time.nullable(),
});
const historyAnswer = z.object({
  id: z.string(), ruleId: z.string(), ruleName: z.string(), status: z.enum(['firing', 'resolved']), at: time, value: z.number().nullable(), message: z.string(),
  deliveries: z.array(deliveryAnswer),
});
const stateAnswer = z.object({
  ruleId: z.string(), ruleName: z.string(), kind: z.string(), workflowId: z.string().nullable(), enabled: z.boolean(), status: z.enum(['ok', 'firing']),
  since: time.nullable(), value: z.number().nullable(), message: z.string().nullable(),
});
const list = (item: z.ZodType) => z.object({ items: z.array(item) });

export const ALERT_ROUTE_DOCS: Readonly<Record<string, RouteDoc>> = {
  'POST /api/workspaces/:ws/alert-rules': {
    tag: 'alerts', summary: 'Create an alert rule', body: { schema: createRuleBody },
    description: 'kind: run_failure_rate, dead_letters, invalid_auth, rate_limited, queue_lag or silence; params per kind (docs/observability.md).',
    responses: { 201: json('Created', ruleAnswer), 400: json('Bad kind, params, workflow or channel', errorAnswer) },
  },
  'GET /api/workspaces/:ws/alert-rules': { tag: 'alerts', summary: 'Alert rules of a workspace', responses: { 200: json('Every rule', list(ruleAnswer)) } },
  'GET /api/workspaces/:ws/alert-rules/:ruleId': { tag: 'alerts', summary: 'An alert rule', responses: { 200: json('The rule', ruleAnswer), 404: json('No such rule', errorAnswer) } },
  'PATCH /api/workspaces/:ws/alert-rules/:ruleId': {
    tag: 'alerts', summary: 'Change a rule\'s name, params, channels or enabled', body: { schema: patchRuleBody },
    description: 'params replaces the params as a whole. Disabling a rule forgets its state without a notification.',
    responses: { 200: json('The rule', ruleAnswer), 400: json('Bad params or channel', errorAnswer) },
  },
  'DELETE /api/workspaces/:ws/alert-rules/:ruleId': { tag: 'alerts', summary: 'Delete a rule (its history stays)', responses: { 204: noContent, 404: json('No such rule', errorAnswer) } },
  'POST /api/workspaces/:ws/alert-channels': {
    tag: 'alerts', summary: 'Create a notification channel (an outgoing webhook)', body: { schema: createChannelBody },
    description: 'The answer carries the whsec_ signing secret this once; it is stored encrypted. A URL the egress guard refuses (private, loopback, metadata addresses unless HOOKFLOW_EGRESS_ALLOWLIST opens them) is a 400.',
    responses: { 201: json('Created', channelAnswer.extend({ secret: z.string() })), 400: json('Bad or refused URL', errorAnswer) },
  },
  'GET /api/workspaces/:ws/alert-channels': { tag: 'alerts', summary: 'Notification channels (never their secrets)', responses: { 200: json('Every channel', list(channelAnswer)) } },
  'GET /api/workspaces/:ws/alert-channels/:channelId': { tag: 'alerts', summary: 'A notification channel', responses: { 200: json('The channel', channelAnswer), 404: json('No such channel', errorAnswer) } },
  'DELETE /api/workspaces/:ws/alert-channels/:channelId': {
    tag: 'alerts', summary: 'Delete a channel', responses: { 204: noContent, 404: json('No such channel', errorAnswer), 409: json('A rule still uses it', errorAnswer) },
  },
  'POST /api/workspaces/:ws/alert-channels/:channelId/test': {
    tag: 'alerts', summary: 'Send a signed test notification now',
    responses: { 200: json('How the send went', z.object({ id: z.string(), delivered: z.boolean(), status: z.number().nullable(), error: z.string().nullable() })) },
  },
  'GET /api/workspaces/:ws/alerts': {
    tag: 'alerts', summary: 'Every rule with its current state (ok or firing)',
    responses: { 200: json('The states', z.object({ firing: z.number(), items: z.array(stateAnswer) })) },
  },
  'GET /api/workspaces/:ws/alerts/history': {
    tag: 'alerts', summary: 'State changes, newest first, with their notification deliveries', query: alertHistoryQuery,
    responses: { 200: json('A page', pageOf(historyAnswer)) },
  },
};
