import { z } from 'zod';
import { WEBHOOK_METHODS } from '../config/workflow-definition.js';
import { createTokenSchema } from '../workflows/access-service.js';
import { auditQuery } from './access-routes.js';
import {
  auditAnswer, createdTokenAnswer, jobAnswer, createWorkspaceBody, errorAnswer, eventAnswer, mergePatch, pageOf, rejectedCallAnswer, rotateKeysAnswer,
  rotateKeysBody, runDetail, runSummary, statsAnswer, tokenAnswer, webhookAccepted, webhookUrlsAnswer, workflowAnswer, workflowInput, workspaceAnswer,
} from './api-schemas.js';
import { bulkBody, eventsQuery, pageQuery, resumeBody, runsQuery, webhookUrlQuery } from './management-routes.js';
import { sessionBody } from './session-routes.js';
import { ALERT_ROUTE_DOCS } from './alert-route-docs.js';
import { statsQuery, workspaceBudgetBody } from './stats-routes.js';
import type { RouteDoc } from './openapi.js';
import { testRunRequestSchema } from '../workflows/test-runs.js';

/** A stored test run in a list (docs/test-runs.md). */
const testRunSummary = z.object({
  id: z.string(), kind: z.enum(['single', 'batch']), mode: z.enum(['mock', 'live']), workflowId: z.string(), status: z.enum(['succeeded', 'failed']),
  eventId: z.string().nullable(), baselineRunId: z.string().nullable(), createdAt: z.string(),
});

/** `POST/GET /api/session`: who the caller is. */
const sessionAnswer = z.object({
  actor: z.object({ id: z.string(), name: z.string() }),
  role: z.enum(['viewer', 'editor', 'admin']),
  workspaceId: z.string().nullable(),
  csrfToken: z.string().nullable(),
  expiresAt: z.string().nullable(),
});

/** A workspace secret as the API shows it: never its value. */
const secretAnswer = z.object({ name: z.string(), allowedOrigins: z.array(z.string()), createdAt: z.string(), updatedAt: z.string() });

/*
 * The OpenAPI entry of each route that does not carry `config.openapi` itself, by `METHOD url`.
 * A route added without either is missing from /api/openapi.json, and test/openapi.test.ts
 * names it. The prose reference is docs/api.md.
 */

const json = (description: string, schema: z.ZodType) => ({ description, schema });
const noContent = { description: 'Done; no body' };

const webhookAnswers: RouteDoc['responses'] = {
  200: json('Stored durably (and, unless a test call or a duplicate, a run queued)', webhookAccepted),
  400: json('Body does not parse as its content type', errorAnswer),
  401: json('Missing or wrong shared key or signature', errorAnswer),
  403: json('Source IP not in trigger.allowedIps', errorAnswer),
  404: json('Unknown or disabled workflow', errorAnswer),
  408: json('Headers or body not received in time', errorAnswer),
  413: json('Body over the limit (decoded size)', errorAnswer),
  415: json('Unknown Content-Encoding', errorAnswer),
  429: { ...json('Rate limit exceeded', errorAnswer), headers: ['retry-after'] },
  503: { ...json('Storage unavailable or overloaded', errorAnswer), headers: ['retry-after'] },
};
const webhookBody = { schema: z.unknown().describe('Any body: JSON, text, form or binary (docs/webhook-contract.md)'), contentTypes: ['*/*'], required: false };

/** Every method and URL form the webhook routes take (trigger.methods decides per workflow; a path suffix is kept). */
function webhookDocs(): Record<string, RouteDoc> {
  const docs: Record<string, RouteDoc> = {};
  for (const [prefix, summary] of [['/api/webhook', 'Deliver a webhook'], ['/api/webhook-test', 'Check a webhook delivery without starting a run']] as const) {
    for (const url of [`${prefix}/:workspaceId/:workflowId`, `${prefix}/:workspaceId/:workflowId/*`]) {
      for (const method of WEBHOOK_METHODS) {
        docs[`${method} ${url}`] = {
          tag: 'webhooks', summary, responses: { ...webhookAnswers, 405: json('A method the trigger does not take (Allow names those it does)', errorAnswer) },
          ...(method === 'GET' || method === 'DELETE' ? {} : { body: webhookBody }),
          description: 'Authenticated by the trigger\'s shared key (?key=, X-Webhook-Key or Authorization: Bearer) or its signature. Only POST unless trigger.methods says more; a GET\'s query is its body. See docs/webhook-contract.md for every answer and the order of checks.',
        };
      }
    }
  }
  return docs;
}

export const ROUTE_DOCS: Readonly<Record<string, RouteDoc>> = {
  ...webhookDocs(),
  'GET /api/webhook-status/:workspaceId/:workflowId/:runId': {
    tag: 'webhooks', summary: 'How a run answered 202 by a result-mode webhook ended',
    description: 'Authenticated with the webhook\'s own shared key (like the webhook), not a management token.',
    responses: {
      200: json('The run\'s status, and its result once it succeeded', z.object({ run_id: z.string(), status: z.string(), finished_at: z.string().nullable(), result: z.unknown().optional(), retry_after_seconds: z.number().optional() })),
      401: json('Missing or wrong shared key', errorAnswer),
      404: json('Unknown webhook or run', errorAnswer),
    },
  },

  'POST /api/workspaces': { tag: 'workspaces', summary: 'Create a workspace', body: { schema: createWorkspaceBody }, responses: { 201: json('Created', workspaceAnswer), 409: json('The id exists already', errorAnswer) } },
  'GET /api/workspaces': { tag: 'workspaces', summary: 'List workspaces (a workspace token sees its own)', query: pageQuery, responses: { 200: json('A page', pageOf(workspaceAnswer)) } },
  'GET /api/workspaces/:ws': { tag: 'workspaces', summary: 'Get a workspace', responses: { 200: json('The workspace', workspaceAnswer) } },

  'POST /api/workspaces/:ws/workflows': {
    tag: 'workflows', summary: 'Create a workflow', body: { schema: workflowInput },
    description: 'The answer\'s webhookUrl carries the shared key, this once (generated when not given).',
    responses: { 201: json('Created (version 1)', workflowAnswer), 409: json('The id exists already', errorAnswer) },
  },
  'GET /api/workspaces/:ws/workflows': { tag: 'workflows', summary: 'List workflows', query: pageQuery, responses: { 200: json('A page', pageOf(workflowAnswer)) } },
  'GET /api/workspaces/:ws/workflows/:wf': { tag: 'workflows', summary: 'Get a workflow\'s current version', responses: { 200: json('The workflow; secrets as {"set":true}', workflowAnswer) } },
  'PUT /api/workspaces/:ws/workflows/:wf': {
    tag: 'workflows', summary: 'Replace the definition (a new version)', body: { schema: workflowInput },
    description: 'A GET answer may be PUT back as is: view fields are ignored and {"set":true} placeholders keep the stored secrets.',
    responses: { 200: json('The new version', workflowAnswer) },
  },
  'PATCH /api/workspaces/:ws/workflows/:wf': {
    tag: 'workflows', summary: 'Change fields with a JSON merge patch (a new version)', body: { schema: mergePatch, contentTypes: ['application/merge-patch+json', 'application/json'] },
    description: 'RFC 7386 applied to the workflow as GET shows it, then saved like PUT (same validation). null removes a member; e.g. {"enabled": false}.',
    responses: { 200: json('The new version', workflowAnswer) },
  },
  'DELETE /api/workspaces/:ws/workflows/:wf': { tag: 'workflows', summary: 'Delete a workflow with its versions, secrets, runs, events and stats', responses: { 204: noContent } },
  'GET /api/workspaces/:ws/workflows/:wf/webhook-url': {
    tag: 'workflows', summary: 'The production and test webhook URLs', query: webhookUrlQuery,
    description: 'With reveal=true both carry the current shared key: needs the editor role, and is written to the audit log.',
    responses: { 200: json('The URLs', webhookUrlsAnswer) },
  },
  'POST /api/workspaces/:ws/workflows/:wf/keys/rotate': {
    tag: 'workflows', summary: 'Rotate the shared key and/or signature secret', body: { schema: rotateKeysBody, required: false },
    description: 'The new key works at once; the old ones keep working for graceSeconds (default 86400).',
    responses: { 200: json('The new URL (with the new key) and when the old keys expire', rotateKeysAnswer) },
  },

  'GET /api/workspaces/:ws/workflows/:wf/runs': { tag: 'runs', summary: 'List a workflow\'s runs, newest first', query: runsQuery, responses: { 200: json('A page', pageOf(runSummary)) } },
  'GET /api/workspaces/:ws/runs/:runId': { tag: 'runs', summary: 'A run with its memory and every step', responses: { 200: json('The run', runDetail) } },
  'POST /api/workspaces/:ws/runs/:runId/replay': { tag: 'runs', summary: 'Run the same event again on the current version', responses: { 201: json('The queued run', runSummary) } },
  'POST /api/workspaces/:ws/runs/:runId/resume': {
    tag: 'runs', summary: 'Resume a failed run from its failed step', body: { schema: resumeBody, required: false },
    description: 'Succeeded steps are not called again; version "original" (default) or "latest".',
    responses: { 200: json('The run, queued again', runSummary), 409: json('The run is not failed', errorAnswer) },
  },
  'POST /api/workspaces/:ws/workflows/:wf/runs/replay': {
    tag: 'runs', summary: 'Replay failed runs in a time window, as a background job', body: { schema: bulkBody, required: false },
    responses: { 202: json('The job, started', jobAnswer) },
  },
  'POST /api/workspaces/:ws/workflows/:wf/runs/resume': {
    tag: 'runs', summary: 'Resume failed runs in a time window, as a background job', body: { schema: bulkBody, required: false },
    responses: { 202: json('The job, started', jobAnswer) },
  },
  'PUT /api/workspaces/:ws/secrets/:name': {
    tag: 'secrets', summary: 'Create or replace a workspace secret (write-only)',
    body: { schema: z.object({ value: z.string(), allowedOrigins: z.array(z.string()).optional() }).strict() },
    description: 'Used as {{secrets.NAME}} in HTTP and LLM steps; the value is never returned (docs/secrets.md).',
    responses: { 200: json('Replaced', secretAnswer), 201: json('Created', secretAnswer) },
  },
  'GET /api/workspaces/:ws/secrets': { tag: 'secrets', summary: 'Workspace secrets: names, origins and times, never values', query: pageQuery, responses: { 200: json('A page', pageOf(secretAnswer)) } },
  'DELETE /api/workspaces/:ws/secrets/:name': { tag: 'secrets', summary: 'Delete a workspace secret', responses: { 204: noContent, 404: json('No such secret', errorAnswer) } },
  'POST /api/workspaces/:ws/workflows/:wf/test-runs': {
    tag: 'workflows', summary: 'Run the saved or a draft definition against an event, mock or live, with per-step diffs',
    body: { schema: testRunRequestSchema },
    description: 'Mock mode makes no outbound call (docs/test-runs.md); test runs are stored apart from runs and never count in stats.',
    responses: { 200: json('The test run, step by step', z.record(z.string(), z.unknown())) },
  },
  'GET /api/workspaces/:ws/workflows/:wf/test-runs': {
    tag: 'workflows', summary: 'Stored test runs of a workflow, newest first (HOOKFLOW_TEST_RUNS_KEPT per workflow)', query: pageQuery,
    responses: { 200: json('A page', pageOf(testRunSummary)) },
  },
  'GET /api/workspaces/:ws/test-runs/:testRunId': {
    tag: 'workflows', summary: 'A stored test run, as it was answered: steps, inputs, outputs, diffs',
    responses: { 200: json('The test run', z.record(z.string(), z.unknown())), 404: json('Unknown test run (or pruned)', errorAnswer) },
  },
  'GET /api/workspaces/:ws/jobs': { tag: 'runs', summary: 'Bulk jobs of a workspace', query: pageQuery, responses: { 200: json('A page', pageOf(jobAnswer)) } },
  'GET /api/workspaces/:ws/jobs/:jobId': { tag: 'runs', summary: 'A bulk job and its progress', responses: { 200: json('The job', jobAnswer) } },
  'POST /api/workspaces/:ws/jobs/:jobId/cancel': {
    tag: 'runs', summary: 'Cancel a bulk job', responses: { 200: json('The job', jobAnswer), 409: json('The job has finished already', errorAnswer) },
  },
  'GET /api/workspaces/:ws/workflows/:wf/events': {
    tag: 'runs', summary: 'Received requests (or, with rejected=true, refused calls)', query: eventsQuery,
    responses: { 200: json('A page of events, or of rejected calls', pageOf(z.union([eventAnswer, rejectedCallAnswer]))) },
  },
  'GET /api/workspaces/:ws/workflows/:wf/stats': { tag: 'runs', summary: 'Webhooks by outcome, errorRate, p50Ms/p95Ms/p99Ms, runs and a chart series over a window', query: statsQuery, responses: { 200: json('The figures', statsAnswer) } },
  'GET /api/workspaces/:ws/stats': { tag: 'runs', summary: 'The same for the whole workspace, with a per-workflow breakdown', query: statsQuery, responses: { 200: json('The figures', statsAnswer) } },
  ...ALERT_ROUTE_DOCS,
  'PUT /api/workspaces/:ws/llm-budget': {
    tag: 'runs', summary: 'Set (or, with null, remove) the tokens all the workspace\'s LLM steps may use per UTC day', body: { schema: workspaceBudgetBody },
    responses: { 200: json('The budget and today\'s usage', z.object({ workspaceId: z.string(), tokensToday: z.number().int(), tokensPerDay: z.number().int().nullable(), remainingToday: z.number().int().nullable() })) },
  },

  'POST /api/tokens': {
    tag: 'access', summary: 'Create an API token', body: { schema: createTokenSchema },
    description: 'The answer carries the token this once; only its SHA-256 is stored. A workspace-scoped admin creates tokens for its workspace only.',
    responses: { 201: json('Created', createdTokenAnswer) },
  },
  'GET /api/tokens': { tag: 'access', summary: 'List API tokens (never the tokens themselves)', query: pageQuery, responses: { 200: json('A page', pageOf(tokenAnswer)) } },
  'DELETE /api/tokens/:id': { tag: 'access', summary: 'Revoke an API token (on every node at once)', responses: { 204: noContent } },
  'POST /api/session': {
    tag: 'access', summary: 'Sign in: exchange a token for a console session cookie', body: { schema: sessionBody },
    description: 'The admin token or an API token, once, in the body. Answers 201 with `Set-Cookie: hookflow_session=…; HttpOnly; SameSite=Strict; Path=/` (`Secure` over HTTPS) and the session\'s CSRF token, which every cookie-authenticated POST/PUT/PATCH/DELETE sends in `x-csrf-token`. The session has the token\'s role and workspace, ends after HOOKFLOW_SESSION_IDLE_MINUTES unused or HOOKFLOW_SESSION_MAX_HOURS, on DELETE, or when its API token is revoked.',
    responses: { 201: json('Signed in', sessionAnswer), 400: json('No token in the body', errorAnswer), 401: json('Unknown or revoked token', errorAnswer) },
  },
  'GET /api/session': { tag: 'access', summary: 'Who the caller is, and its session\'s CSRF token (null for bearer calls)', responses: { 200: json('The caller', sessionAnswer) } },
  'DELETE /api/session': { tag: 'access', summary: 'Sign out: end the cookie\'s session (on every node)', responses: { 204: noContent } },
  'GET /api/workspaces/:ws/workflows/:wf/stream': {
    tag: 'events', summary: 'Live changes of one workflow (server-sent events)',
    description: 'text/event-stream: `event` (a stored request, live or test; `filtered` marked), `refused` (a refused call with its status and reason) and `run` (a run created or changed status), each `data:` one JSON object as the events, rejected-calls and runs lists show it. Only changes after the stream opened; read the lists first. Polls the store every HOOKFLOW_STREAM_POLL_MS, so calls taken by any node show. A `: keep-alive` comment every 15 s; the stream ends when its session or token stops being valid. 503 past HOOKFLOW_MAX_STREAMS on this node.',
    responses: { 200: { description: 'The stream', contentType: 'text/event-stream', schema: z.string() }, 503: { ...json('Too many open streams on this node', errorAnswer), headers: ['retry-after'] } },
  },
  'GET /api/audit': {
    tag: 'access', summary: 'The audit log, newest first', query: auditQuery,
    description: 'Every change made through the management API, and every key reveal: who, what, target, when, from which address. Never a secret value.',
    responses: { 200: json('A page', pageOf(auditAnswer)) },
  },
  'GET /api/openapi.json': { tag: 'operations', summary: 'This document (no token needed)', responses: { 200: { description: 'OpenAPI 3.1', schema: z.record(z.string(), z.unknown()) } } },

  'GET /healthz': { tag: 'operations', summary: 'The process is alive', responses: { 200: json('Alive', z.object({ status: z.literal('ok') })) } },
  'GET /readyz': {
    tag: 'operations', summary: 'Webhooks can be committed now',
    responses: {
      200: json('Ready', z.object({ status: z.literal('ready'), storage: z.enum(['sqlite', 'postgres']) })),
      503: { ...json('Storage cannot commit', z.object({ status: z.literal('unavailable'), storage: z.enum(['sqlite', 'postgres']) })), headers: ['retry-after'] },
    },
  },
  'GET /metrics': { tag: 'operations', summary: 'Prometheus metrics', responses: { 200: { description: 'Prometheus text format', schema: z.string(), contentType: 'text/plain' } } },
};
