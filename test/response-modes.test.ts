import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { eventually, startLoopbackServer } from './helpers/loopback.js';

/**
 * `trigger.response`: static answers, and `result` mode, where the caller waits for the
 * workflow's answer after the durable commit — with the real server and real workers.
 */
let test: TestApp;
let slowApi: Awaited<ReturnType<typeof startLoopbackServer>>;
let releaseSlow: () => void = () => undefined;
const ws = 'responses';
const KEY = 'responses-shared-key-01';

async function create(id: string, definition: Record<string, unknown>): Promise<void> {
  const created = await test.api('POST', `/api/workspaces/${ws}/workflows`, { id, name: id, maxAttempts: 1, ...definition, trigger: { type: 'webhook', sharedKey: KEY, bodyMemory: 'order', ...(definition['trigger'] as object) } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
}

async function post(workflowId: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${test.url}/api/webhook/${ws}/${workflowId}?key=${KEY}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, text, headers: response.headers, json: () => JSON.parse(text) };
}

beforeAll(async () => {
  slowApi = await startLoopbackServer((_request, response) => {
    // Answers only when the test says so: a run that cannot finish within the caller's wait.
    releaseSlow = () => {
      response.setHeader('content-type', 'application/json');
      response.end('{"shipped":true}');
    };
  });
  test = await startTestApp({ env: { HOOKFLOW_WORKER_CONCURRENCY: '2', HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8' } });
  expect((await test.api('POST', '/api/workspaces', { id: ws, name: 'Responses' })).status).toBe(201);
});

afterAll(async () => {
  await test?.stop();
  await slowApi?.close();
});

describe('static mode', () => {
  it('answers every accepted call (and its duplicate) with the configured status, headers and text body', async () => {
    await create('static-text', { trigger: { response: { mode: 'static', status: 202, headers: { 'X-Ack': 'yes' }, body: 'OK' } } });
    const first = await post('static-text', { n: 1 }, { 'idempotency-key': 'static-1' });
    expect([first.status, first.text, first.headers.get('x-ack'), first.headers.get('content-type')]).toStrictEqual([202, 'OK', 'yes', 'text/plain; charset=utf-8']);
    const again = await post('static-text', { n: 1 }, { 'idempotency-key': 'static-1' });
    expect([again.status, again.text]).toStrictEqual([202, 'OK']);
    const events = await test.api('GET', `/api/workspaces/${ws}/workflows/static-text/events`);
    expect(events.body.items).toHaveLength(1);
  });

  it('refuses at save time a static header value HTTP cannot carry (every accepted call would be a 500)', async () => {
    const created = await test.api('POST', `/api/workspaces/${ws}/workflows`, { id: 'static-bad-header', name: 'static-bad-header', trigger: { type: 'webhook', sharedKey: KEY, response: { mode: 'static', headers: { 'X-Ack': 'yes\r\nSet-Cookie: x=1' } } } });
    expect(created.status).toBe(400);
  });

  it('sends an object body as JSON; refusals keep the contract answers', async () => {
    await create('static-json', { trigger: { response: { mode: 'static', body: { ok: true } } } });
    const answer = await post('static-json', {});
    expect([answer.status, answer.json()]).toStrictEqual([200, { ok: true }]);
    const refused = await fetch(`${test.url}/api/webhook/${ws}/static-json?key=wrong-key-00`, { method: 'POST', body: '{}' });
    expect([refused.status, await refused.json()]).toStrictEqual([401, { error: 'Invalid shared key' }]);
  });
});

describe('result mode', () => {
  it("answers with the respond step's status, headers and body once the run finished", async () => {
    await create('result-respond', {
      trigger: { response: { mode: 'result', timeoutMs: 20_000 } },
      steps: [
        { id: 'score', type: 'script', output: 'score', code: 'return memory.load("order").total > 100 ? "high" : "low";' },
        { id: 'answer', type: 'respond', status: 201, headers: { 'X-Order': '{{order.id}}' }, body: { order: '{{order.id}}', priority: '{{score}}' } },
      ],
    });
    const answer = await post('result-respond', { id: 'A-17', total: 250 });
    expect(answer.status).toBe(201);
    expect(answer.headers.get('x-order')).toBe('A-17');
    expect(answer.json()).toStrictEqual({ order: 'A-17', priority: 'high' });
  });

  it('a respond header that renders to a value HTTP cannot carry (a newline from the body) is left out instead of turning the stored event into a 500', async () => {
    await create('result-bad-header', {
      trigger: { response: { mode: 'result', timeoutMs: 20_000 } },
      steps: [{ id: 'answer', type: 'respond', status: 201, headers: { 'X-Order': '{{order.id}}' }, body: { ok: true } }],
    });
    const answer = await post('result-bad-header', { id: 'A-17\r\nSet-Cookie: x=1' });
    // The run succeeded and the event is stored: its answer, without the header it cannot carry.
    expect([answer.status, answer.json(), answer.headers.get('x-order'), answer.headers.get('set-cookie')]).toStrictEqual([201, { ok: true }, null, null]);
  });

  it("without a respond step, answers 200 with the last step's output as JSON", async () => {
    await create('result-last', {
      trigger: { response: { mode: 'result', timeoutMs: 20_000 } },
      steps: [{ id: 'greet', type: 'script', code: 'return "hello " + memory.load("order").id;' }],
    });
    const answer = await post('result-last', { id: 'B-2' });
    expect([answer.status, answer.headers.get('content-type'), answer.json()]).toStrictEqual([200, 'application/json; charset=utf-8', 'hello B-2']);
  });

  it('a failed run answers 502 with the documented body', async () => {
    await create('result-fails', {
      trigger: { response: { mode: 'result', timeoutMs: 20_000 } },
      steps: [{ id: 'boom', type: 'script', code: 'throw new Error("no stock");' }],
    });
    const answer = await post('result-fails', { id: 'C-3' });
    expect(answer.status).toBe(502);
    const body = answer.json();
    expect(body).toStrictEqual({ error: 'Workflow failed', run_id: expect.stringMatching(/^run_/), status_url: expect.stringContaining(`/api/webhook-status/${ws}/result-fails/`) });
    expect(answer.text).not.toContain('no stock');
  });

  it('a run that outlasts timeoutMs answers 202 with a status_url, which later shows the result (with the key only)', async () => {
    await create('result-slow', {
      trigger: { response: { mode: 'result', timeoutMs: 300 } },
      steps: [{ id: 'ship', type: 'http', method: 'POST', url: `${slowApi.url}/ship`, body: '{{order}}', timeoutMs: 60_000, output: 'shipping' }],
    });
    const answer = await post('result-slow', { id: 'D-4' });
    expect(answer.status).toBe(202);
    const body = answer.json();
    expect(body).toMatchObject({ status: 'accepted', workflow_started: true, run_id: expect.stringMatching(/^run_/) });
    const statusUrl = body.status_url as string;
    expect(statusUrl).toBe(`${test.url}/api/webhook-status/${ws}/result-slow/${body.run_id}`);
    expect((await fetch(statusUrl)).status).toBe(401);
    const pending = (await (await fetch(`${statusUrl}?key=${KEY}`)).json()) as { status: string };
    expect(pending.status).toMatch(/^(queued|running)$/);
    await eventually(async () => (slowApi.received.length > 0 ? true : undefined));
    releaseSlow();
    const done = await eventually(async () => {
      const status = (await (await fetch(statusUrl, { headers: { 'x-webhook-key': KEY } })).json()) as { status: string; result?: unknown };
      return status.status === 'succeeded' ? status : undefined;
    });
    expect(done.result).toStrictEqual({ status: 200, body: { status: 200, headers: expect.any(Object), body: { shipped: true } } });
    // A run of another workflow is not reachable through this webhook's status URL.
    const other = await post('result-last', { id: 'E-5' });
    expect(other.status).toBe(200);
    const runs = await test.api('GET', `/api/workspaces/${ws}/workflows/result-last/runs`);
    expect((await fetch(`${test.url}/api/webhook-status/${ws}/result-slow/${runs.body.items[0].id}?key=${KEY}`)).status).toBe(404);
  });

  it('with wait: "prefer", only callers sending Prefer: wait=N wait; the answer says Preference-Applied', async () => {
    await create('result-prefer', {
      trigger: { response: { mode: 'result', timeoutMs: 20_000, wait: 'prefer' } },
      steps: [{ id: 'double', type: 'script', code: 'return memory.load("order").n * 2;' }],
    });
    const plain = await post('result-prefer', { n: 21 });
    expect(plain.json()).toMatchObject({ status: 'accepted', workflow_started: true });
    const waited = await post('result-prefer', { n: 21 }, { prefer: 'respond-async, wait=10' });
    expect([waited.status, waited.json(), waited.headers.get('preference-applied')]).toStrictEqual([200, 42, 'wait=10']);
  });
});
