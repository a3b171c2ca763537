import { validateHeaderName, validateHeaderValue } from 'node:http';
import type { ResponseDefinition } from '../config/workflow-definition.js';
import type { RunRecord, Store } from '../store/store.js';
import { stringifyExactJson } from '../util/exact-json.js';
import type { WebhookAnswer } from './ingress-service.js';
import type { RunWaiter } from './run-waiter.js';

/** An HTTP answer other than the default accepted JSON, ready to send (headers include its content type). */
export interface CustomAnswer {
  status: number;
  headers: Readonly<Record<string, string>>;
  payload: string;
}

/**
 * Encodes a body: a string as text (`text/plain` unless the headers name a type), anything else as
 * JSON; `asJson` sends a string as JSON too. Header names are lower-cased.
 */
function encode(status: number, headers: Readonly<Record<string, string>>, body: unknown, asJson = false): CustomAnswer {
  const lower = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  if (typeof body === 'string' && !asJson) return { status, headers: { 'content-type': 'text/plain; charset=utf-8', ...lower }, payload: body };
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...lower }, payload: stringifyExactJson(body ?? null) };
}

/** The caller's `Prefer: wait=N` (RFC 7240), in ms, or undefined when it asks for no wait. */
export function preferredWaitMs(prefer: string | string[] | undefined): number | undefined {
  for (const header of Array.isArray(prefer) ? prefer : prefer === undefined ? [] : [prefer]) {
    for (const preference of header.split(',')) {
      const match = /^\s*wait\s*=\s*"?(\d{1,9})"?\s*(?:;.*)?$/i.exec(preference);
      if (match?.[1] !== undefined) return Number(match[1]) * 1000;
    }
  }
  return undefined;
}

/** A `static` trigger's fixed answer. */
export function staticAnswer(response: Extract<ResponseDefinition, { mode: 'static' }>): CustomAnswer {
  return encode(response.status, response.headers ?? {}, response.body ?? null);
}

/**
 * The answer of a `result`-mode call whose run was committed (the durable promise is kept before
 * any waiting): the workflow's answer when the run finishes in time — a `respond` step's output,
 * else the last step's output as JSON —, 502 when it failed, 202 with a `status_url` when it is
 * still going. The wait is the trigger's `timeoutMs`, or the caller's `Prefer: wait=N` when shorter
 * (and, with `wait: "prefer"`, only when the caller asks).
 */
export async function resultAnswer(options: {
  response: Extract<ResponseDefinition, { mode: 'result' }>;
  answer: WebhookAnswer;
  preferMs: number | undefined;
  workspaceId: string;
  statusUrl: (runId: string) => string;
  waiter: RunWaiter;
  store: Store;
}): Promise<CustomAnswer | null> {
  const { response, answer, preferMs } = options;
  if (!('run_id' in answer) || answer.run_id === null) return null;
  if (response.wait === 'prefer' && preferMs === undefined) return null;
  const waitMs = Math.min(response.timeoutMs, preferMs ?? response.timeoutMs);
  const runId = answer.run_id;
  const applied: Record<string, string> = preferMs === undefined ? {} : { 'preference-applied': `wait=${Math.round(waitMs / 1000)}` };
  const run = waitMs > 0 ? await options.waiter.wait(options.workspaceId, runId, waitMs) : null;
  const statusUrl = options.statusUrl(runId);
  if (run === null) return encode(202, applied, { status: 'accepted', workflow_started: true, run_id: runId, status_url: statusUrl });
  if (run.status === 'failed') return encode(502, applied, { error: 'Workflow failed', run_id: runId, status_url: statusUrl });
  const result = await workflowResult(options.store, run);
  return encode(result.status, { ...result.headers, ...applied }, result.body, result.asJson);
}

/** What a succeeded run answers, before encoding: its last `respond` step's output, else its last step's output (always JSON). */
export async function workflowResult(store: Store, run: RunRecord): Promise<{ status: number; headers: Record<string, string>; body: unknown; asJson: boolean }> {
  const steps = (await store.listStepResults(run.id)).filter((step) => step.status === 'succeeded').sort((a, b) => a.stepIndex - b.stepIndex);
  const respond = steps.filter((step) => step.type === 'respond').at(-1);
  if (respond !== undefined) {
    const output = respond.output as { status?: unknown; headers?: unknown; body?: unknown } | null;
    const status = typeof output?.status === 'number' ? output.status : 200;
    // Rendered from the sender's data: a value HTTP cannot carry (a newline, say) would make the
    // answer itself fail (a 500 for an event that is stored); such a header is left out.
    const headers = typeof output?.headers === 'object' && output.headers !== null ? sendableHeaders(output.headers as Record<string, unknown>) : {};
    return { status, headers, body: output?.body ?? null, asJson: false };
  }
  return { status: 200, headers: {}, body: steps.at(-1)?.output ?? null, asJson: true };
}

/** The headers Node can send as they are (valid names, string values without control characters). */
function sendableHeaders(headers: Record<string, unknown>): Record<string, string> {
  const sendable: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string') continue;
    try {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch {
      continue;
    }
    sendable[name] = value;
  }
  return sendable;
}
