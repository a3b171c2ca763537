import { z } from 'zod';
import { parseCidr } from './cidr.js';

/** Names of memory variables (and so of template roots). */
export const MEMORY_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const memoryName = z
  .string()
  .regex(MEMORY_NAME, 'must match ^[A-Za-z_][A-Za-z0-9_]*$')
  // Matches the rule, but assigning it would set a prototype instead of a variable.
  .refine((name) => name !== '__proto__', 'is reserved');

/**
 * Largest `trigger.maxBodyBytes` and `maxResponseBytes` a definition may ask for (32 MiB each):
 * sizes the process-wide memory budget (HOOKFLOW_MEMORY_BUDGET_BYTES, 256 MiB by default) can
 * hold a few of at once, with room for what they become once parsed. docs/operations.md sizes them.
 */
export const MAX_BODY_BYTES_CEILING = 32 * 1024 * 1024;
export const MAX_RESPONSE_BYTES_CEILING = 32 * 1024 * 1024;

/** The memory variable that holds the request's metadata (API.md). */
const WEBHOOK_MEMORY = 'webhook';

/** Ids chosen by users for workspaces, workflows and steps; safe in a URL path. */
export const RESOURCE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const resourceId = z.string().regex(RESOURCE_ID, 'must be 1-64 characters of A-Z a-z 0-9 _ - (not starting with _ or -)');

const secretString = z.string().min(1).max(4096);

const signatureSchema = z
  .object({
    scheme: z.enum(['github', 'stripe', 'slack', 'shopify', 'standard-webhooks', 'hmac-sha256']),
    /** Required on create; on update, left out (or `{"set":true}`) keeps the stored one if the scheme is unchanged. */
    secret: secretString.optional(),
    toleranceSeconds: z.number().int().min(1).max(86_400).optional(),
    header: z.string().regex(/^[A-Za-z0-9-]+$/).transform((name) => name.toLowerCase()).optional(),
    encoding: z.enum(['hex', 'base64']).optional(),
    prefix: z.string().max(64).optional(),
    /** Require the shared key as well as the signature. Default false: the signature replaces it. */
    requireSharedKey: z.boolean().optional(),
  })
  .strict();

/**
 * A provider's URL handshake (src/ingress/handshakes.ts). Slack's needs no setting: it is answered
 * for every trigger with the `slack` signature. The secret fields are write-only, like the
 * signature secret: required on create, kept on update when left out for the same provider.
 */
const handshakeSchema = z.discriminatedUnion('provider', [
  z.object({ provider: z.literal('meta'), verifyToken: secretString.optional() }).strict(),
  z.object({ provider: z.literal('zoom'), secretToken: secretString.optional() }).strict(),
  z.object({ provider: z.literal('x'), consumerSecret: secretString.optional() }).strict(),
  z.object({ provider: z.literal('graph') }).strict(),
  z.object({ provider: z.literal('dropbox') }).strict(),
]);

/** Longest a caller may be kept waiting for a run's result, ms. */
export const MAX_RESULT_WAIT_MS = 60_000;

const responseHeadersSchema = z.record(
  z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'invalid header name'),
  // What Node can send (no CR, LF or other control characters): anything else made every answer a 500.
  z.string().max(4096).regex(/^[\t\x20-\x7e\x80-\xff]*$/, 'invalid header value (control characters)'),
);

/**
 * What a webhook call is answered with (src/ingress/response-modes.ts). Default: the accepted
 * JSON once the event and its run are committed. `static`: a fixed answer for senders that expect
 * one. `result`: the run is committed first (the durable promise is unchanged), then the caller
 * waits for the workflow's answer, up to `timeoutMs`; with `wait: "prefer"` only callers that ask
 * with `Prefer: wait=N` (RFC 7240) wait.
 */
const responseSchema = z.discriminatedUnion('mode', [
  z
    .object({
      mode: z.literal('static'),
      status: z.number().int().min(200).max(299).default(200),
      headers: responseHeadersSchema.optional(),
      body: z.unknown().optional(),
    })
    .strict(),
  z
    .object({
      mode: z.literal('result'),
      timeoutMs: z.number().int().min(1).max(MAX_RESULT_WAIT_MS).default(10_000),
      wait: z.enum(['always', 'prefer']).default('always'),
    })
    .strict(),
]);

/** Methods a webhook URL can be configured to take (`trigger.methods`). */
export const WEBHOOK_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** The write-only field of each handshake provider that has one. */
export const HANDSHAKE_SECRET_FIELD = { meta: 'verifyToken', zoom: 'secretToken', x: 'consumerSecret' } as const;

const triggerSchema = z
  .object({
    type: z.literal('webhook'),
    sharedKey: z.string().min(8, 'must be at least 8 characters').max(512).optional(),
    headerMemory: memoryName.optional(),
    bodyMemory: memoryName.optional(),
    maxBodyBytes: z.number().int().min(1).max(MAX_BODY_BYTES_CEILING).optional(),
    rateLimit: z.object({ perMinute: z.number().int().min(1).max(1_000_000) }).strict().optional(),
    idempotencyHeader: z.string().regex(/^[A-Za-z0-9-]+$/).transform((name) => name.toLowerCase()).optional(),
    allowedIps: z
      .array(z.string().refine((entry) => parseCidr(entry, { allowBareAddress: true }) !== null, 'must be a CIDR such as 203.0.113.0/24 or 2001:db8::/32, or an address'))
      .max(1000)
      .optional(),
    signature: signatureSchema.optional(),
    handshake: handshakeSchema.optional(),
    response: responseSchema.optional(),
    /** How bodies that carry JSON inside another format are read, and multipart limits (docs/senders.md). */
    parse: z
      .object({
        /** A form field whose value is JSON, parsed in place (GitHub form deliveries and Slack interactivity use `payload`). */
        formJsonField: z.string().min(1).max(100).optional(),
        /** A `text/*` body is JSON (AWS SNS sends JSON as `text/plain`); one that is not is a 400. */
        textJson: z.boolean().optional(),
        /** multipart/form-data: largest file, bytes (decoded). Default: the body limit. */
        maxFileBytes: z.number().int().min(1).max(256 * 1024 * 1024).optional(),
        /** multipart/form-data: most files. Default 10. */
        maxFiles: z.number().int().min(1).max(1000).optional(),
      })
      .strict()
      .optional(),
    /** Methods a delivery may use (default POST); a GET's query is its body. */
    methods: z.array(z.enum(WEBHOOK_METHODS)).min(1).max(WEBHOOK_METHODS.length).refine((methods) => new Set(methods).size === methods.length, 'must not repeat a method').optional(),
    /** CEL over `headers`, `body` and `query`; a call it does not match starts no run (docs/conditions-and-filters.md). */
    filter: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((trigger, ctx) => {
    // Each would silently overwrite another variable the run starts with.
    for (const field of ['headerMemory', 'bodyMemory'] as const) {
      if (trigger[field] === WEBHOOK_MEMORY) ctx.addIssue({ code: 'custom', path: [field], message: `"${WEBHOOK_MEMORY}" is reserved for the request's metadata` });
    }
    if (trigger.headerMemory !== undefined && trigger.headerMemory === trigger.bodyMemory) {
      ctx.addIssue({ code: 'custom', path: ['bodyMemory'], message: 'must differ from headerMemory' });
    }
  });

const headersSchema = z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'invalid header name'), z.string());

/**
 * How an HTTP or LLM step follows redirects (API.md, docs/security.md): `none`, `same-origin`,
 * `any` (another origin gets no step header and no body) or `any-with-headers`. Default
 * `same-origin` for a step that uses a secret, `any` otherwise.
 */
const followRedirects = z.enum(['none', 'same-origin', 'any', 'any-with-headers']).optional();

const baseStep = {
  id: resourceId,
  /** Memory variable that receives the step's output. */
  output: memoryName.optional(),
  timeoutMs: z.number().int().min(1).max(15 * 60_000).optional(),
  /** CEL condition; false records the step as `skipped` (docs/conditions-and-filters.md). */
  if: z.string().min(1).optional(),
  /** A failure of this step is recorded but does not fail the run. */
  continueOnError: z.boolean().optional(),
};

const httpStepSchema = z
  .object({
    ...baseStep,
    type: z.literal('http'),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']).default('GET'),
    url: z.string().min(1),
    headers: headersSchema.optional(),
    body: z.unknown().optional(),
    maxResponseBytes: z.number().int().min(1).max(MAX_RESPONSE_BYTES_CEILING).optional(),
    /**
     * Header carrying the step's idempotency key (the same for every retry and resume of this
     * step of this run; a replay is a new run and gets a new one), or false to send none.
     * Default `Idempotency-Key`.
     */
    idempotencyHeader: z.union([z.string().regex(/^[A-Za-z0-9-]+$/, 'invalid header name'), z.literal(false)]).optional(),
    followRedirects,
  })
  .strict();

const scriptStepSchema = z
  .object({
    ...baseStep,
    type: z.literal('script'),
    code: z.string().min(1).max(256 * 1024),
    memoryLimitBytes: z.number().int().min(1024 * 1024).max(512 * 1024 * 1024).optional(),
  })
  .strict();

const llmStepSchema = z
  .object({
    ...baseStep,
    type: z.literal('llm'),
    baseUrl: z.string().url(),
    model: z.string().min(1),
    apiKey: secretString.optional(),
    system: z.string().optional(),
    prompt: z.string().min(1),
    temperature: z.number().min(0).max(2).optional(),
    maxTokens: z.number().int().min(1).optional(),
    followRedirects,
  })
  .strict();

/** The answer a `result`-mode trigger gives its caller; fields are templates. */
const respondStepSchema = z
  .object({
    ...baseStep,
    type: z.literal('respond'),
    status: z.union([z.number().int().min(200).max(599), z.string().min(1)]).default(200),
    headers: responseHeadersSchema.optional(),
    body: z.unknown().optional(),
  })
  .strict();

const stepSchema = z.discriminatedUnion('type', [httpStepSchema, scriptStepSchema, llmStepSchema, respondStepSchema]);

/** A workflow definition as the management API accepts it (API.md "Workflow definition"). */
export const workflowDefinitionSchema = z
  .object({
    id: resourceId.optional(),
    name: z.string().min(1).max(200),
    enabled: z.boolean().default(true),
    maxAttempts: z.number().int().min(1).max(100).optional(),
    /** Most LLM tokens this workflow's LLM steps may use per UTC day; an LLM step past it fails (permanently). */
    llmBudget: z.object({ tokensPerDay: z.number().int().min(1).max(1_000_000_000_000) }).strict().optional(),
    /**
     * Per-key ordering (docs/runs.md): runs whose CEL `key` (over the run's starting memory) is
     * equal run at most `limit` at a time, in arrival order, enforced by the store's claim.
     */
    concurrency: z.object({ key: z.string().min(1).max(2000), limit: z.number().int().min(1).max(1000).default(1) }).strict().optional(),
    /** Most runs of this workflow running at once, across every worker and node. */
    maxConcurrentRuns: z.number().int().min(1).max(100_000).optional(),
    trigger: triggerSchema,
    steps: z.array(stepSchema).max(100).default([]),
  })
  .strict()
  .superRefine((definition, ctx) => {
    const seen = new Set<string>();
    definition.steps.forEach((step, index) => {
      if (seen.has(step.id)) {
        ctx.addIssue({ code: 'custom', path: ['steps', index, 'id'], message: `duplicate step id "${step.id}"` });
      }
      seen.add(step.id);
    });
  });

export type WorkflowDefinitionInput = z.input<typeof workflowDefinitionSchema>;
export type WorkflowDefinition = z.output<typeof workflowDefinitionSchema>;
export type TriggerDefinition = WorkflowDefinition['trigger'];
export type SignatureDefinition = NonNullable<TriggerDefinition['signature']>;
export type HandshakeDefinition = NonNullable<TriggerDefinition['handshake']>;
export type StepDefinition = WorkflowDefinition['steps'][number];
export type HttpStepDefinition = z.output<typeof httpStepSchema>;
export type ScriptStepDefinition = z.output<typeof scriptStepSchema>;
export type LlmStepDefinition = z.output<typeof llmStepSchema>;
export type RespondStepDefinition = z.output<typeof respondStepSchema>;
export type ResponseDefinition = NonNullable<TriggerDefinition['response']>;

/** Formats zod issues as `field.path: message` lines, so a 400 names the field. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`);
}
