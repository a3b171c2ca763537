import { gzipSync, brotliCompressSync, deflateSync } from 'node:zlib';
import { request as rawRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';

/** One test per row of API.md's status table and per body type, over real HTTP. */
let test: TestApp;
let ws: string;
let wf: string;
let hook: string;
const KEY = 'shop-integration-key';

beforeAll(async () => {
  test = await startTestApp();
  const created = await createWorkflow(test, {
    id: 'orders',
    name: 'Order processing',
    trigger: { type: 'webhook', sharedKey: KEY, headerMemory: 'orderHeaders', bodyMemory: 'orderData', maxBodyBytes: 4096 },
  });
  ws = created.workspaceId;
  wf = created.workflowId;
  hook = `${test.url}/api/webhook/${ws}/${wf}`;
});
afterAll(() => test.stop());

async function post(url: string, init: { body?: string | Buffer; headers?: Record<string, string> } = {}) {
  const response = await fetch(url, { method: 'POST', headers: init.headers ?? {}, body: init.body });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text), headers: response.headers };
}

async function runOf(runId: string) {
  const run = await test.api('GET', `/api/workspaces/${ws}/runs/${runId}`);
  expect(run.status).toBe(200);
  return run.body;
}

describe('status table', () => {
  it('200 accepted: the run is queued and its id returned', async () => {
    const answer = await post(`${hook}?key=${KEY}`, { headers: { 'content-type': 'application/json' }, body: '{"event":"order_created"}' });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ status: 'accepted', workflow_started: true, run_id: expect.stringMatching(/^run_/) });
    const run = await runOf(answer.body.run_id);
    expect(run.status).toBe('queued');
  });

  it('200 duplicate: the same idempotency key answers with the first run', async () => {
    const headers = { 'content-type': 'application/json', 'idempotency-key': `dup-${Date.now()}` };
    const first = await post(`${hook}?key=${KEY}`, { headers, body: '{"n":1}' });
    const second = await post(`${hook}?key=${KEY}`, { headers, body: '{"n":2}' });
    expect(first.body.workflow_started).toBe(true);
    expect(second.status).toBe(200);
    expect(second.body).toEqual({ status: 'accepted', workflow_started: false, duplicate: true, run_id: first.body.run_id });
  });

  it('X-GitHub-Delivery is an idempotency key by default', async () => {
    const headers = { 'content-type': 'application/json', 'x-github-delivery': `gh-${Date.now()}` };
    const first = await post(`${hook}?key=${KEY}`, { headers, body: '{}' });
    const second = await post(`${hook}?key=${KEY}`, { headers, body: '{}' });
    expect(second.body).toEqual({ status: 'accepted', workflow_started: false, duplicate: true, run_id: first.body.run_id });
  });

  it('two identical bodies without a delivery id are two events', async () => {
    const a = await post(`${hook}?key=${KEY}`, { headers: { 'content-type': 'application/json' }, body: '{"alert":"cpu"}' });
    const b = await post(`${hook}?key=${KEY}`, { headers: { 'content-type': 'application/json' }, body: '{"alert":"cpu"}' });
    expect(a.body.workflow_started).toBe(true);
    expect(b.body.workflow_started).toBe(true);
    expect(a.body.run_id).not.toBe(b.body.run_id);
  });

  it.each([
    ['missing key', ''],
    ['wrong key', '?key=wrong-key-of-same-size!'],
    ['key of another length', '?key=x'],
    ['very long key', `?key=${'k'.repeat(5000)}`],
  ])('401 for a %s', async (_name, query) => {
    const answer = await post(`${hook}${query}`, { headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual({ error: 'Invalid shared key' });
  });

  it('accepts the key in X-Webhook-Key and in Authorization: Bearer', async () => {
    const viaHeader = await post(hook, { headers: { 'content-type': 'application/json', 'x-webhook-key': KEY }, body: '{}' });
    const viaBearer = await post(hook, { headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: '{}' });
    expect(viaHeader.status).toBe(200);
    expect(viaBearer.status).toBe(200);
  });

  it('400 when the body does not parse as its content type', async () => {
    const answer = await post(`${hook}?key=${KEY}`, { headers: { 'content-type': 'application/json' }, body: '{"broken":' });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: 'Invalid request format' });
  });

  it('400 for prototype-poisoning keys', async () => {
    for (const body of ['{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"admin":true}}}']) {
      const answer = await post(`${hook}?key=${KEY}`, { headers: { 'content-type': 'application/json' }, body });
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual({ error: 'Invalid request format' });
    }
  });

  it('404 for an unknown workspace or workflow, with the same body', async () => {
    for (const url of [`${test.url}/api/webhook/${ws}/nope?key=${KEY}`, `${test.url}/api/webhook/nope/${wf}?key=${KEY}`, `${test.url}/api/webhook/x'%20OR%201=1--/${wf}`]) {
      const answer = await post(url, { headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(answer.status).toBe(404);
      expect(answer.body).toEqual({ error: 'Webhook not found' });
    }
  });

  it('404 the moment a workflow is disabled, 200 again when enabled', async () => {
    const created = await createWorkflow(test, { name: 'toggle', trigger: { type: 'webhook', sharedKey: KEY } }, `ws-toggle-${Date.now()}`);
    const url = `${test.url}/api/webhook/${created.workspaceId}/${created.workflowId}?key=${KEY}`;
    expect((await post(url, { body: '{}' })).status).toBe(200);
    const definition = { name: 'toggle', enabled: false, trigger: { type: 'webhook' } };
    expect((await test.api('PUT', `/api/workspaces/${created.workspaceId}/workflows/${created.workflowId}`, definition)).status).toBe(200);
    expect(await post(url, { body: '{}' })).toMatchObject({ status: 404, body: { error: 'Webhook not found' } });
    expect((await test.api('PUT', `/api/workspaces/${created.workspaceId}/workflows/${created.workflowId}`, { ...definition, enabled: true })).status).toBe(200);
    expect((await post(url, { body: '{}' })).status).toBe(200);
    expect((await test.api('DELETE', `/api/workspaces/${created.workspaceId}/workflows/${created.workflowId}`)).status).toBe(204);
    expect((await post(url, { body: '{}' })).status).toBe(404);
  });

  it.each(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND', 'PURGE', 'SEARCH'])('405 for %s with Allow: POST', async (method) => {
    const response = await fetch(`${hook}?key=${KEY}`, { method });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(await response.json()).toEqual({ error: 'Method not allowed' });
  });

  it('413 for a body over the trigger limit (declared length)', async () => {
    const answer = await post(`${hook}?key=${KEY}`, { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(5000) }) });
    expect(answer.status).toBe(413);
    expect(answer.body).toEqual({ error: 'Payload too large' });
  });

  it('413 for a gzip bomb: the limit applies to the decoded size', async () => {
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(100 * 1024);
    const answer = await post(`${hook}?key=${KEY}`, { headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: bomb });
    expect(answer.status).toBe(413);
    expect(answer.body).toEqual({ error: 'Payload too large' });
    // The server is healthy afterwards.
    expect((await fetch(`${test.url}/healthz`)).status).toBe(200);
  });

  it('413 for a chunked body without Content-Length that grows past the limit', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = rawRequest(`${hook}?key=${KEY}`, { method: 'POST', headers: { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 10; i++) req.write('y'.repeat(1000));
      req.end();
    });
    expect(status).toBe(413);
  });

  it('415 for an unknown Content-Encoding', async () => {
    const answer = await post(`${hook}?key=${KEY}`, { headers: { 'content-type': 'application/json', 'content-encoding': 'zstd-custom' }, body: '{}' });
    expect(answer.status).toBe(415);
    expect(answer.body).toEqual({ error: 'Unsupported content encoding' });
  });
});

describe('body types', () => {
  async function storedBodyOf(init: { body?: string | Buffer; headers?: Record<string, string> }) {
    const answer = await post(`${hook}?key=${KEY}`, init);
    expect(answer.status).toBe(200);
    const run = await runOf(answer.body.run_id);
    return run.memory.orderData;
  }

  it('application/json → the parsed value', async () => {
    const order = { event: 'payment_completed', order_id: 'ORD-12345', amount: 99.99, customer: { email: 'customer@example.com', name: 'John Doe' } };
    expect(await storedBodyOf({ headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(order) })).toEqual(order);
  });

  it('+json media types → the parsed value', async () => {
    expect(await storedBodyOf({ headers: { 'content-type': 'application/vnd.api+json' }, body: '{"a":[1,2]}' })).toEqual({ a: [1, 2] });
  });

  it('text/* → the string', async () => {
    expect(await storedBodyOf({ headers: { 'content-type': 'text/plain' }, body: 'high cpu on web-01 ✓' })).toBe('high cpu on web-01 ✓');
  });

  it('form → an object, repeated fields as arrays', async () => {
    expect(await storedBodyOf({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1&b=two+words&a=3' })).toEqual({ a: ['1', '3'], b: 'two words' });
  });

  it('binary → base64 with its content type', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 251, 255]);
    expect(await storedBodyOf({ headers: { 'content-type': 'application/octet-stream' }, body: bytes })).toEqual({
      contentType: 'application/octet-stream',
      encoding: 'base64',
      data: bytes.toString('base64'),
    });
  });

  it('no content type → JSON if it parses, else text', async () => {
    const send = (body: string) =>
      new Promise<{ run_id: string }>((resolve, reject) => {
        const req = rawRequest(`${hook}?key=${KEY}`, { method: 'POST', headers: { 'content-length': Buffer.byteLength(body) } }, (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve(JSON.parse(text)));
        });
        req.on('error', reject);
        req.end(body);
      });
    expect((await runOf((await send('{"x":1}')).run_id)).memory.orderData).toEqual({ x: 1 });
    expect((await runOf((await send('just words')).run_id)).memory.orderData).toBe('just words');
  });

  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ])('Content-Encoding %s is decoded', async (encoding, compress) => {
    const body = compress(Buffer.from('{"compressed":true}'));
    expect(await storedBodyOf({ headers: { 'content-type': 'application/json', 'content-encoding': encoding }, body })).toEqual({ compressed: true });
  });

  it('invalid UTF-8 in JSON is a 400', async () => {
    const answer = await post(`${hook}?key=${KEY}`, { headers: { 'content-type': 'application/json' }, body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]) });
    expect(answer).toMatchObject({ status: 400, body: { error: 'Invalid request format' } });
  });
});

describe('memory variables', () => {
  it('stores headers (lower-cased, no key) and the body exactly as sent', async () => {
    const body = { action: 'opened', number: 123, pull_request: { title: 'Fix critical bug', user: { login: 'developer' } } };
    const answer = await post(`${hook}?key=${KEY}&source=github`, {
      headers: { 'Content-Type': 'application/json', 'User-Agent': 'GitHub-Hookshot/abc123', 'X-GitHub-Event': 'push', 'X-Webhook-Key': KEY },
      body: JSON.stringify(body),
    });
    const run = await runOf(answer.body.run_id);
    expect(run.memory.orderData).toEqual(body);
    expect(run.memory.orderHeaders).toMatchObject({ 'content-type': 'application/json', 'user-agent': 'GitHub-Hookshot/abc123', 'x-github-event': 'push' });
    expect(run.memory.orderHeaders['x-webhook-key']).toBeUndefined();
    expect(run.memory.webhook).toMatchObject({ method: 'POST', query: { source: 'github' }, sourceIp: '127.0.0.1', contentType: 'application/json' });
    expect(JSON.stringify(run)).not.toContain(KEY);
    const events = await test.api('GET', `/api/workspaces/${ws}/workflows/${wf}/events?limit=1`);
    expect(events.body.items[0].body).toEqual(body);
    expect(JSON.stringify(events.body)).not.toContain(KEY);
  });

  it('drops Authorization when it carried the key, keeps it otherwise', async () => {
    const withKey = await post(hook, { headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: '{}' });
    expect((await runOf(withKey.body.run_id)).memory.orderHeaders.authorization).toBeUndefined();
    const other = await post(`${hook}?key=${KEY}`, { headers: { 'content-type': 'application/json', authorization: 'Bearer token123' }, body: '{}' });
    expect((await runOf(other.body.run_id)).memory.orderHeaders.authorization).toBe('Bearer token123');
  });
});

describe('test endpoint', () => {
  it('authenticates and records, starts no run', async () => {
    const url = `${test.url}/api/webhook-test/${ws}/${wf}`;
    expect((await post(url, { body: '{}' })).status).toBe(401);
    const answer = await post(`${url}?key=${KEY}`, { headers: { 'content-type': 'application/json' }, body: '{"probe":true}' });
    expect(answer).toMatchObject({ status: 200, body: { status: 'accepted', workflow_started: false, test: true } });
    const events = await test.api('GET', `/api/workspaces/${ws}/workflows/${wf}/events?test=true`);
    expect(events.body.items[0]).toMatchObject({ test: true, body: { probe: true } });
  });
});
