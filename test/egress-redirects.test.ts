import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';
import { startLoopbackServer, type Received } from './helpers/loopback.js';
import { waitForRun } from './helpers/runs.js';

/**
 * Redirects keep credentials at home, end to end: origin A (one loopback port) answers 307 to
 * origin B (another port), both allowed. By default B gets none of the step's headers and no
 * body; with `followRedirects: "any-with-headers"` it gets both. An LLM step with a stored key
 * does not follow the redirect at all by default, and never sends the key to B.
 */
const LLM_KEY = 'sk-redirect-bound-key-5e6f7a';
type Server = Awaited<ReturnType<typeof startLoopbackServer>>;
let origin: Server;
let other: Server;
let app: TestApp;

beforeAll(async () => {
  other = await startLoopbackServer((_request: Received, response: ServerResponse) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ choices: [{ message: { content: 'from B' } }] }));
  });
  origin = await startLoopbackServer((request: Received, response: ServerResponse) => {
    response.writeHead(307, { location: `${other.url}/landing${request.url}` }).end();
  });
  app = await startTestApp({ env: { HOOKFLOW_WORKER_CONCURRENCY: '1', HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8' } });
});
afterAll(async () => {
  await app.stop();
  await Promise.all([origin.close(), other.close()]);
});
beforeEach(() => {
  origin.received.length = 0;
  other.received.length = 0;
});

/** Creates a workflow with `step`, sends one webhook and waits for the run. */
async function runStep(id: string, step: Record<string, unknown>) {
  const { workspaceId, webhookUrl } = await createWorkflow(app, { id, name: id, maxAttempts: 1, trigger: { type: 'webhook' }, steps: [{ id: 'call', ...step }] });
  const accepted = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  expect(accepted.status).toBe(200);
  return waitForRun(app, workspaceId, ((await accepted.json()) as { run_id: string }).run_id);
}

const httpStep = {
  type: 'http',
  method: 'POST',
  headers: { authorization: 'Bearer step-token-1', 'x-api-key': 'step-key-2', 'private-token': 'step-private-3', 'x-trace': 'plain' },
  body: { order: 42 },
};
const stepHeaders = ['authorization', 'x-api-key', 'private-token', 'x-trace', 'content-type'];

describe('an HTTP step redirected to another origin', () => {
  it('by default sends none of its headers and no body there', async () => {
    const run = await runStep('plain', { ...httpStep, url: `${origin.url}/hook` });
    expect(run.status).toBe('succeeded');
    expect(origin.received[0]).toMatchObject({ method: 'POST', body: '{"order":42}', headers: { 'x-api-key': 'step-key-2', 'private-token': 'step-private-3' } });
    expect(other.received).toHaveLength(1);
    expect(other.received[0]).toMatchObject({ method: 'POST', url: '/landing/hook', body: '' });
    for (const name of stepHeaders) expect(other.received[0]?.headers[name]).toBeUndefined();
  });

  it('with followRedirects "any-with-headers" carries its headers and body there', async () => {
    const run = await runStep('opted-in', { ...httpStep, url: `${origin.url}/hook`, followRedirects: 'any-with-headers' });
    expect(run.status).toBe('succeeded');
    expect(other.received[0]).toMatchObject({
      method: 'POST',
      body: '{"order":42}',
      headers: { authorization: 'Bearer step-token-1', 'x-api-key': 'step-key-2', 'private-token': 'step-private-3', 'x-trace': 'plain', 'content-type': 'application/json' },
    });
  });

  it('with followRedirects "same-origin" stops at the redirect: the 307 is its output', async () => {
    const run = await runStep('stays', { ...httpStep, url: `${origin.url}/hook`, followRedirects: 'same-origin' });
    expect(run.status).toBe('succeeded');
    expect(run.steps[0]?.output.status).toBe(307);
    expect(other.received).toHaveLength(0);
  });
});

describe('an LLM step with a stored key redirected to another origin', () => {
  it('by default does not follow it, and the other origin never sees the key', async () => {
    const run = await runStep('llm-default', { type: 'llm', baseUrl: `${origin.url}/v1`, model: 'm', apiKey: LLM_KEY, prompt: 'hi' });
    expect(run.status).toBe('failed');
    expect(run.steps[0]?.error).toBe(`HOOKFLOW_ERR_STEP_FAILED: LLM endpoint ${origin.url} answered 307, a redirect not followed (followRedirects: "same-origin")`);
    expect(origin.received[0]?.headers.authorization).toBe(`Bearer ${LLM_KEY}`);
    expect(other.received).toHaveLength(0);
  });

  it('opted in, follows it with the prompt but without the key', async () => {
    const run = await runStep('llm-opted-in', { type: 'llm', baseUrl: `${origin.url}/v1`, model: 'm', apiKey: LLM_KEY, prompt: 'hi', followRedirects: 'any-with-headers' });
    expect(run.status).toBe('succeeded');
    expect(run.steps[0]?.output).toBe('from B');
    expect(other.received[0]?.url).toBe('/landing/v1/chat/completions');
    expect(JSON.parse(other.received[0]?.body ?? '{}')).toMatchObject({ model: 'm' });
    expect(other.received[0]?.headers.authorization).toBeUndefined();
    expect(JSON.stringify(other.received)).not.toContain(LLM_KEY);
    expect(app.logs()).not.toContain(LLM_KEY);
  });
});
