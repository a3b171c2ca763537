import type { HttpStepDefinition } from '../../../config/workflow-definition.js';
import { failedAnswer } from '../../net/failed-answer.js';
import type { GuardedHttpClient } from '../../net/guarded-fetch.js';
import { parseExactJson, stringifyExactJson } from '../../../util/exact-json.js';
import { SecretScope, type SecretAccess } from '../../secret-scope.js';
import { DEFAULT_STEP_TIMEOUT_MS, type StepContext, type StepKind } from '../../step.js';
import { HookflowError } from '../../../errors/catalogue.js';
import { exceedsDepth } from '../../../util/value-depth.js';
import { renderTemplate, renderText } from '../../templates.js';

/** Header that carries an HTTP step's idempotency key unless the step names another (or `false`). */
export const DEFAULT_IDEMPOTENCY_HEADER = 'Idempotency-Key';

/**
 * An HTTP step's idempotency key: the run and the step, so it is the same for every attempt of
 * the step within the run, and new for a replay (a new run). Not secret; at most ~100 characters.
 */
export function stepIdempotencyKey(runId: string, stepId: string): string {
  return `${runId}.${stepId}`;
}

/**
 * The HTTP step: sends a templated request through the SSRF-guarded client. Output is
 * `{status, headers, body}` (body parsed when it is JSON). 408/429/5xx answers are transient
 * (the run is retried, honouring Retry-After); other 4xx answers fail the run at once.
 * `{{secrets.NAME}}` in the URL, headers and body is filled in only as the request is sent;
 * the output and errors show `[secret:NAME]` wherever a value would appear.
 */
export function createHttpStep(deps: { client: GuardedHttpClient; secrets?: SecretAccess; /** Deepest JSON nesting kept from an answer (HOOKFLOW_MAX_JSON_DEPTH). */ maxJsonDepth: number }): StepKind<HttpStepDefinition> {
  return {
    type: 'http',
    async run(step, context) {
      const scope = await SecretScope.open({ access: deps.secrets, workspaceId: context.workspaceId, memory: context.memory, fields: [step.url, step.headers, step.body] });
      return scope.guard(async () => {
        const memory = scope.memory;
        const rendered = {
          url: renderText(step.url, memory),
          headers: Object.fromEntries(Object.entries(step.headers ?? {}).map(([name, value]) => [name.toLowerCase(), renderText(value, memory)])),
          body: step.body !== undefined && step.method !== 'GET' && step.method !== 'HEAD' ? renderTemplate(step.body, memory) : undefined,
        };
        // The same key for every attempt of this step of this run (retries, a resume, a worker that
        // crashed mid-step), so the receiving API can tell a repeat; a header the step sets wins.
        const idempotencyHeader = step.idempotencyHeader === false ? undefined : (step.idempotencyHeader ?? DEFAULT_IDEMPOTENCY_HEADER).toLowerCase();
        if (idempotencyHeader !== undefined) rendered.headers[idempotencyHeader] ??= stepIdempotencyKey(context.runId, step.id);
        const { url, headers, body: value } = await scope.reveal(rendered);
        let body: string | undefined;
        if (typeof value === 'string') body = value;
        else if (value !== undefined) {
          body = stringifyExactJson(value);
          headers['content-type'] ??= 'application/json';
        }
        return { output: scope.redact(await send(deps.client, step, context, { url, headers, body }, deps.maxJsonDepth)) };
      });
    },
  };
}

/** Sends the rendered request; an answer of 400 or more is a step error carrying the output. */
async function send(
  client: GuardedHttpClient,
  step: HttpStepDefinition,
  /** The step's cancel signal, and the run's share of the memory budget that its answer joins. */
  call: Pick<StepContext, 'signal' | 'reservation'>,
  request: { url: string; headers: Record<string, string>; body: string | undefined },
  maxJsonDepth: number,
): Promise<{ status: number; headers: Record<string, string>; body: unknown }> {
  const { url, headers, body } = request;
  const response = await client.request({
    method: step.method,
    url,
    headers,
    body,
    timeoutMs: step.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS,
    signal: call.signal,
    ...(call.reservation === undefined ? {} : { reservation: call.reservation }),
    redirects: step.followRedirects ?? (referencesSecrets(step) ? 'same-origin' : 'any'),
    ...(step.maxResponseBytes === undefined ? {} : { maxResponseBytes: step.maxResponseBytes }),
  });
  const answered = `HTTP ${step.method} ${new URL(url).origin} answered ${response.status}`;
  const output = { status: response.status, headers: response.headers, body: decodeBody(response.body, response.headers['content-type']) };
  // Refused where it enters: a value this deep would overflow the stack of every later
  // hand-over (the store's writer thread, a script thread) and could end the process.
  const tooDeep = exceedsDepth(output.body, maxJsonDepth);
  const depthNote = `with JSON nested deeper than ${maxJsonDepth} levels (HOOKFLOW_MAX_JSON_DEPTH)`;
  if (response.status >= 400) {
    throw failedAnswer({ message: tooDeep ? `${answered} ${depthNote}` : answered, status: response.status, headers: response.headers, ...(tooDeep ? {} : { details: output }) });
  }
  if (tooDeep) throw new HookflowError('HOOKFLOW_ERR_STEP_FAILED', `${answered} ${depthNote}`);
  return output;
}

/**
 * True when the step's URL, headers or body use a workspace secret (`{{secrets.NAME}}`): such a
 * step follows redirects only within its origin unless `followRedirects` says otherwise.
 */
function referencesSecrets(step: HttpStepDefinition): boolean {
  return /\{\{\s*secrets\s*[.[]/.test(JSON.stringify([step.url, step.headers ?? {}, step.body ?? null]));
}

function decodeBody(body: Buffer, contentType: string | undefined): unknown {
  const text = body.toString('utf8');
  if (contentType !== undefined && /[/+]json\b/i.test(contentType)) {
    try {
      return parseExactJson(text);
    } catch {
      return text;
    }
  }
  return text;
}
