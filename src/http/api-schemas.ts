import { z } from 'zod';
import { workflowDefinitionSchema } from '../config/workflow-definition.js';
import { RUN_STATUSES } from '../store/store.js';

/*
 * Shapes of the management API's answers, for the OpenAPI document (openapi.ts). Requests are
 * described by the very schemas that validate them (workflow-definition.ts, the query schemas
 * in management-routes.ts, access-service.ts); these describe what the views return.
 */

const isoTime = z.iso.datetime();
const nullableTime = isoTime.nullable();
const json = z.unknown();

/** The answer of every error: `error` is the catalogue's text; `details` on management 400/404/409. */
export const errorAnswer = z.object({ error: z.string(), details: z.array(z.string()).optional() });

/** A list page: `nextCursor` is null on the last page. */
export const pageOf = (item: z.ZodType) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });

export const workspaceAnswer = z.object({ id: z.string(), name: z.string(), createdAt: isoTime });
export const createWorkspaceBody = z.object({ id: z.string().optional(), name: z.string().min(1).max(200) });

/** A workflow as GET shows it: its definition with secrets as `{"set":true}`, plus version and URLs. */
export const workflowAnswer = z
  .object({
    id: z.string(),
    workspaceId: z.string(),
    version: z.number().int(),
    name: z.string(),
    enabled: z.boolean(),
    maxAttempts: z.number().int().optional(),
    trigger: z.record(z.string(), json).describe('The trigger; `sharedKey` and `signature.secret` show as {"set":true}'),
    steps: z.array(z.record(z.string(), json)).describe('The steps; an LLM step\'s `apiKey` shows as {"set":true}'),
    webhookUrl: z.string().describe('Carries ?key= only in the create answer'),
    testWebhookUrl: z.string(),
    createdAt: isoTime,
    updatedAt: isoTime,
  });

export const workflowInput = workflowDefinitionSchema;
export const mergePatch = z.record(z.string(), json).describe('JSON merge patch (RFC 7386) applied to the workflow as GET shows it');

export const webhookUrlsAnswer = z
  .object({ webhookUrl: z.string(), testWebhookUrl: z.string() })
  .describe('With ?reveal=true both URLs carry ?key=<shared key>');

export const rotateKeysBody = z
  .object({ sharedKey: z.string().min(8).max(512).optional(), signatureSecret: z.string().min(1).optional(), graceSeconds: z.number().int().min(0).max(31_536_000).optional() });
export const rotateKeysAnswer = z.object({ webhookUrl: z.string(), previousKeysExpireAt: isoTime });

export const runSummary = z
  .object({
    id: z.string(), workspaceId: z.string(), workflowId: z.string(), workflowVersion: z.number().int(), eventId: z.string(),
    status: z.enum(RUN_STATUSES as [string, ...string[]]), attempts: z.number().int(), maxAttempts: z.number().int(),
    createdAt: isoTime, startedAt: nullableTime, finishedAt: nullableTime, nextAttemptAt: nullableTime,
    error: z.string().nullable(), replayOf: z.string().nullable(),
    concurrencyKey: z.string().optional().describe('The run\'s `concurrency.key` value: it waits, `queued`, behind earlier runs of that key'),
  });

export const runDetail = runSummary
  .extend({
    memory: z.record(z.string(), json),
    steps: z.array(z.object({
      id: z.string(), type: z.string(), status: z.enum(['succeeded', 'failed']), attempt: z.number().int(), startedAt: isoTime, finishedAt: isoTime,
      durationMs: z.number(), output: json, error: z.string().nullable(), logs: z.array(z.string()), usage: z.record(z.string(), json).optional(),
    })),
  });

export const eventAnswer = z
  .object({
    id: z.string(), workflowId: z.string(), workflowVersion: z.number().int(), receivedAt: isoTime, test: z.boolean(),
    headers: z.record(z.string(), z.string()), body: json, webhook: z.record(z.string(), json),
  });

export const rejectedCallAnswer = z
  .object({ id: z.string(), receivedAt: isoTime, status: z.number().int(), reason: z.string(), sourceIp: z.string(), bodyBytes: z.number().int().nullable(), userAgent: z.string().nullable() });

/** The stats answers (docs/observability.md). */
export const statsAnswer = z.object({
  workspaceId: z.string(), workflowId: z.string().optional(), windowSeconds: z.number().int(), from: isoTime, to: isoTime,
  webhooks: z.object({ total: z.number().int(), errors: z.number().int(), byOutcome: z.record(z.string(), z.number().int()), byStatus: z.record(z.string(), z.number().int()) }),
  errorRate: z.number().nullable().describe('Calls refused or failed / all calls'),
  p50Ms: z.number().nullable(), p95Ms: z.number().nullable(), p99Ms: z.number().nullable(),
  runs: z.object({
    total: z.number().int(), truncated: z.boolean(), byStatus: z.record(z.string(), z.number().int()), failureRate: z.number().nullable(),
    durationMs: z.object({ p50: z.number().nullable(), p95: z.number().nullable(), p99: z.number().nullable(), max: z.number().nullable() }),
  }),
  series: z.object({ bucketSeconds: z.number().int(), buckets: z.array(z.object({ start: isoTime, webhooks: z.number().int(), errors: z.number().int(), accepted: z.number().int(), runsSucceeded: z.number().int(), runsFailed: z.number().int() })) }),
  workflows: z.array(z.object({ workflowId: z.string().nullable(), webhooks: z.number().int(), errors: z.number().int(), errorRate: z.number().nullable() })).optional(),
  llm: z.object({ tokensToday: z.number(), tokensPerDay: z.number().nullable(), remainingToday: z.number().nullable() }).optional(),
});

export const tokenAnswer = z
  .object({ id: z.string(), name: z.string(), role: z.enum(['viewer', 'editor', 'admin']), workspaceId: z.string().nullable(), createdAt: isoTime, revokedAt: nullableTime });
export const createdTokenAnswer = tokenAnswer.extend({ token: z.string().describe('The bearer token, shown this once') });

export const auditAnswer = z
  .object({
    id: z.string(), at: isoTime, actor: z.object({ id: z.string(), name: z.string() }), action: z.string(), workspaceId: z.string().nullable(),
    target: z.string(), sourceIp: z.string(), details: z.record(z.string(), json),
  });

export const webhookAccepted = z
  .object({ status: z.literal('accepted'), workflow_started: z.boolean(), run_id: z.string().optional(), duplicate: z.boolean().optional(), test: z.boolean().optional() });

export const jobAnswer = z.object({
  id: z.string(), workspaceId: z.string(), workflowId: z.string(), kind: z.enum(['replay', 'resume']), status: z.string(),
  options: z.record(z.string(), json), total: z.number().int(), done: z.number().int(), failed: z.number().int(), lastError: z.string().nullable(),
  createdAt: isoTime, updatedAt: isoTime, finishedAt: nullableTime,
});
