import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';

/** `trigger.methods` and the optional path suffix, over HTTP against the real server. */
let test: TestApp;
const ws = 'shapes';
const KEY = 'shapes-shared-key-0001';

async function create(id: string, trigger: Record<string, unknown> = {}): Promise<void> {
  const created = await test.api('POST', `/api/workspaces/${ws}/workflows`, { id, name: id, trigger: { type: 'webhook', sharedKey: KEY, bodyMemory: 'payload', ...trigger } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
}

async function call(method: string, path: string, body?: string) {
  const response = await fetch(`${test.url}${path}`, { method, ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }) });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text), allow: response.headers.get('allow') };
}

async function lastEvent(workflowId: string): Promise<any> {
  const events = await test.api('GET', `/api/workspaces/${ws}/workflows/${workflowId}/events`);
  return events.body.items[0];
}

beforeAll(async () => {
  test = await startTestApp();
  expect((await test.api('POST', '/api/workspaces', { id: ws, name: 'Shapes' })).status).toBe(201);
  await create('post-only');
  await create('get-and-post', { methods: ['GET', 'POST'] });
  await create('delete-too', { methods: ['POST', 'DELETE'] });
});

afterAll(async () => {
  await test?.stop();
});

describe('trigger.methods', () => {
  it('a GET delivery is accepted, and its query (without the key) is the body', async () => {
    const answer = await call('GET', `/api/webhook/${ws}/get-and-post?status=paid&order=42&key=${KEY}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'accepted', workflow_started: true });
    const event = await lastEvent('get-and-post');
    expect(event.body).toStrictEqual({ status: 'paid', order: '42' });
    expect(event.webhook.method).toBe('GET');
    expect(JSON.stringify(event)).not.toContain(KEY);
  });

  it('a GET still needs the key', async () => {
    expect((await call('GET', `/api/webhook/${ws}/get-and-post?status=paid`)).status).toBe(401);
  });

  it('a method the trigger does not take is a 405 naming the ones it does', async () => {
    const put = await call('PUT', `/api/webhook/${ws}/get-and-post?key=${KEY}`, '{}');
    expect([put.status, put.allow, put.body]).toStrictEqual([405, 'GET, POST', { error: 'Method not allowed' }]);
    const get = await call('GET', `/api/webhook/${ws}/post-only?key=${KEY}`);
    expect([get.status, get.allow]).toStrictEqual([405, 'POST']);
    // Unknown workflows take POST only, as before (their POST is the 404).
    expect((await call('GET', `/api/webhook/${ws}/no-such-workflow?key=${KEY}`)).status).toBe(405);
    expect((await call('POST', `/api/webhook/${ws}/no-such-workflow?key=${KEY}`, '{}')).status).toBe(404);
  });

  it('a DELETE with a JSON body is parsed like a POST', async () => {
    const answer = await call('DELETE', `/api/webhook/${ws}/delete-too?key=${KEY}`, '{"id":"contact-9"}');
    expect(answer.status).toBe(200);
    expect((await lastEvent('delete-too')).body).toStrictEqual({ id: 'contact-9' });
  });

  it('refuses a method list with repeats or unknown methods at save time', async () => {
    for (const methods of [['POST', 'POST'], ['HEAD'], []]) {
      const answer = await test.api('POST', `/api/workspaces/${ws}/workflows`, { name: 'bad', trigger: { type: 'webhook', methods } });
      expect(answer.status).toBe(400);
      expect(JSON.stringify(answer.body.details)).toContain('trigger.methods');
    }
  });
});

describe('path suffix', () => {
  it('a call to /api/webhook/:ws/:wf/<path> is accepted and keeps the path as webhook.path', async () => {
    const answer = await call('POST', `/api/webhook/${ws}/post-only/orders/42/paid?key=${KEY}`, '{"n":1}');
    expect(answer.status).toBe(200);
    const event = await lastEvent('post-only');
    expect(event.webhook.path).toBe('/orders/42/paid');
    expect(event.body).toStrictEqual({ n: 1 });
  });

  it('without a suffix there is no webhook.path; the test endpoint takes a suffix too', async () => {
    await call('POST', `/api/webhook/${ws}/post-only?key=${KEY}`, '{}');
    expect((await lastEvent('post-only')).webhook.path).toBeUndefined();
    const tested = await call('POST', `/api/webhook-test/${ws}/post-only/x?key=${KEY}`, '{}');
    expect(tested.body).toStrictEqual({ status: 'accepted', workflow_started: false, test: true });
  });

  it('other methods on a suffixed URL are 405 too', async () => {
    const answer = await call('OPTIONS', `/api/webhook/${ws}/post-only/a/b`);
    expect(answer.status).toBe(405);
  });
});
