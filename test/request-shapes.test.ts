import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';

/** `trigger.methods` and the optional path suffix, over HTTP against the real server. */
let test: TestApp;
const ws = 'shapes';
const KEY = 'shapes-shared-key-0001';

async function create(id: string, trigger: Record<string, unknown> = {}): Promise<void> {
  // Every test workflow is created with the shared key, and its body in `payload`.
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

  it('a method no webhook route takes (OPTIONS) is a 405 naming the methods this trigger takes', async () => {
    const options = await call('OPTIONS', `/api/webhook/${ws}/get-and-post?key=${KEY}`);
    expect([options.status, options.allow, options.body]).toStrictEqual([405, 'GET, POST', { error: 'Method not allowed' }]);
    expect((await call('OPTIONS', `/api/webhook/${ws}/delete-too/some/path`)).allow).toBe('POST, DELETE');
    expect((await call('OPTIONS', `/api/webhook/${ws}/no-such-workflow`)).allow).toBe('POST');
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

describe('bodies carrying files or JSON inside another format', () => {
  const post = async (workflowId: string, body: string | FormData, headers: Record<string, string> = {}) => {
    const response = await fetch(`${test.url}/api/webhook/${ws}/${workflowId}?key=${KEY}`, { method: 'POST', headers, body });
    const text = await response.text();
    return { status: response.status, body: text === '' ? null : JSON.parse(text) };
  };

  it('multipart/form-data: a 5 MB file under a 10 MB limit is stored intact with its name, type and size, beside the text fields', async () => {
    await create('uploads', { maxBodyBytes: 10 * 1024 * 1024 });
    const file = Buffer.alloc(5 * 1024 * 1024);
    for (let i = 0; i < file.length; i++) file[i] = (i * 31 + 7) & 0xff;
    const form = new FormData();
    form.append('invoice', 'INV-7');
    form.append('tag', 'a');
    form.append('tag', 'b');
    form.append('scan', new Blob([file], { type: 'application/pdf' }), 'scan.pdf');
    const answer = await post('uploads', form);
    expect(answer.status).toBe(200);
    const event = await lastEvent('uploads');
    expect(event.body.fields).toStrictEqual({ invoice: 'INV-7', tag: ['a', 'b'] });
    expect(event.body.files).toHaveLength(1);
    const [stored] = event.body.files;
    expect({ ...stored, data: undefined }).toStrictEqual({ field: 'scan', filename: 'scan.pdf', contentType: 'application/pdf', size: file.length, encoding: 'base64', data: undefined });
    expect(Buffer.from(stored.data, 'base64').equals(file)).toBe(true);
  });

  it('a file over parse.maxFileBytes or too many files is a 413; a malformed multipart body a 400; nothing is stored', async () => {
    await create('small-uploads', { parse: { maxFileBytes: 1024, maxFiles: 1 } });
    const big = new FormData();
    big.append('f', new Blob([Buffer.alloc(2048)]), 'big.bin');
    expect((await post('small-uploads', big)).status).toBe(413);
    const many = new FormData();
    many.append('a', new Blob([Buffer.alloc(10)]), 'a.bin');
    many.append('b', new Blob([Buffer.alloc(10)]), 'b.bin');
    expect((await post('small-uploads', many)).status).toBe(413);
    const malformed = await post('small-uploads', '--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue-without-closing-boundary', { 'content-type': 'multipart/form-data; boundary=xyz' });
    expect(malformed.status).toBe(400);
    const noBoundary = await post('small-uploads', 'abc', { 'content-type': 'multipart/form-data' });
    expect(noBoundary.status).toBe(400);
    const events = await test.api('GET', `/api/workspaces/${ws}/workflows/small-uploads/events`);
    expect(events.body.items).toHaveLength(0);
  });

  it('a multipart body whose file part is cut off is a 400, and the server keeps answering', async () => {
    await create('cut-uploads');
    const cut = await post('cut-uploads', '--xyz\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhello', { 'content-type': 'multipart/form-data; boundary=xyz' });
    expect([cut.status, cut.body]).toStrictEqual([400, { error: 'Invalid request format' }]);
    expect((await post('cut-uploads', '{"ok":true}', { 'content-type': 'application/json' })).status).toBe(200);
  });

  it('parse.formJsonField: a form field holding JSON (GitHub form deliveries, Slack interactivity) is parsed in place', async () => {
    await create('slack-actions', { parse: { formJsonField: 'payload' } });
    const payload = { type: 'block_actions', actions: [{ action_id: 'approve', value: '42' }] };
    const answer = await post('slack-actions', new URLSearchParams({ payload: JSON.stringify(payload), extra: 'x' }).toString(), { 'content-type': 'application/x-www-form-urlencoded' });
    expect(answer.status).toBe(200);
    expect((await lastEvent('slack-actions')).body).toStrictEqual({ payload, extra: 'x' });
    const broken = await post('slack-actions', 'payload=%7Bnot-json', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(broken.status).toBe(400);
  });

  it('parse.textJson: JSON sent as text/plain (AWS SNS) is parsed; text that is not JSON is a 400', async () => {
    await create('sns', { parse: { textJson: true } });
    const notification = { Type: 'Notification', MessageId: 'm-1', Message: '{"alarm":"cpu"}' };
    const answer = await post('sns', JSON.stringify(notification), { 'content-type': 'text/plain; charset=UTF-8' });
    expect(answer.status).toBe(200);
    expect((await lastEvent('sns')).body).toStrictEqual(notification);
    expect((await post('sns', 'hello', { 'content-type': 'text/plain' })).status).toBe(400);
    // Without the option, text stays text.
    await post('post-only', JSON.stringify(notification), { 'content-type': 'text/plain' });
    expect((await lastEvent('post-only')).body).toBe(JSON.stringify(notification));
  });
});
