import type { HttpStepDefinition } from '../../../config/workflow-definition.js';
import { failedAnswer } from '../../net/failed-answer.js';
import type { GuardedHttpClient } from '../../net/guarded-fetch.js';
import { DEFAULT_STEP_TIMEOUT_MS, type StepKind } from '../../step.js';
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
 */
export function createHttpStep(deps: { client: GuardedHttpClient }): StepKind<HttpStepDefinition> {
  return {
    type: 'http',
    async run(step, context) {
      const url = renderText(step.url, context.memory);
      const headers = Object.fromEntries(Object.entries(step.headers ?? {}).map(([name, value]) => [name.toLowerCase(), renderText(value, context.memory)]));
      // The same key for every attempt of this step of this run (retries, a resume, a worker that
      // crashed mid-step), so the receiving API can tell a repeat; a header the step sets wins.
      const idempotencyHeader = step.idempotencyHeader === false ? undefined : (step.idempotencyHeader ?? DEFAULT_IDEMPOTENCY_HEADER).toLowerCase();
      if (idempotencyHeader !== undefined) headers[idempotencyHeader] ??= stepIdempotencyKey(context.runId, step.id);
      let body: string | undefined;
      if (step.body !== undefined && step.method !== 'GET' && step.method !== 'HEAD') {
        const rendered = renderTemplate(step.body, context.memory);
        if (typeof rendered === 'string') body = rendered;
        else {
          body = JSON.stringify(rendered);
          headers['content-type'] ??= 'application/json';
        }
      }
      const response = await deps.client.request({
        method: step.method,
        url,
        headers,
        body,
        timeoutMs: step.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS,
        signal: context.signal,
        redirects: step.followRedirects ?? (referencesSecrets(step) ? 'same-origin' : 'any'),
        ...(step.maxResponseBytes === undefined ? {} : { maxResponseBytes: step.maxResponseBytes }),
      });
      const output = { status: response.status, headers: response.headers, body: decodeBody(response.body, response.headers['content-type']) };
      if (response.status >= 400) {
        throw failedAnswer({ message: `HTTP ${step.method} ${new URL(url).origin} answered ${response.status}`, status: response.status, headers: response.headers, details: output });
      }
      return { output };
    },
  };
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
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}
