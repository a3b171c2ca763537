import { createHmac, randomBytes } from 'node:crypto';
import { Webhook as SvixWebhook } from 'svix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';

/**
 * Provider handshakes and Svix's header names, end to end over HTTP. Every expected answer is
 * computed here from the provider's documented algorithm with node:crypto (never with hookflow's
 * code); requests are shaped as the providers document them.
 */
let test: TestApp;
const ws = 'senders';
const KEY = 'senders-shared-key-0001';

const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data);

async function createWorkflow(id: string, trigger: Record<string, unknown>): Promise<void> {
  const created = await test.api('POST', `/api/workspaces/${ws}/workflows`, { id, name: id, trigger: { type: 'webhook', sharedKey: KEY, ...trigger } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
}

async function call(method: string, path: string, options: { body?: string; headers?: Record<string, string> } = {}) {
  const response = await fetch(`${test.url}${path}`, { method, headers: options.headers ?? {}, ...(options.body === undefined ? {} : { body: options.body }) });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

async function eventsOf(workflowId: string): Promise<any[]> {
  const events = await test.api('GET', `/api/workspaces/${ws}/workflows/${workflowId}/events`);
  expect(events.status).toBe(200);
  return events.body.items;
}

async function runsOf(workflowId: string): Promise<any[]> {
  const runs = await test.api('GET', `/api/workspaces/${ws}/workflows/${workflowId}/runs`);
  expect(runs.status).toBe(200);
  return runs.body.items;
}

beforeAll(async () => {
  test = await startTestApp();
  expect((await test.api('POST', '/api/workspaces', { id: ws, name: 'Senders' })).status).toBe(201);
});

afterAll(async () => {
  await test?.stop();
});

describe('Slack url_verification (any trigger with the slack signature)', () => {
  const SECRET = 'slack-signing-secret-handshake-01';
  // Slack's documented example payload.
  const CHALLENGE = '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P';
  const body = JSON.stringify({ token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl', challenge: CHALLENGE, type: 'url_verification' });
  const signed = (secret: string, t = Math.floor(Date.now() / 1000)) => ({
    'content-type': 'application/json',
    'x-slack-request-timestamp': String(t),
    'x-slack-signature': `v0=${hmac(secret, `v0:${t}:${body}`).digest('hex')}`,
  });

  beforeAll(() => createWorkflow('slack-events', { signature: { scheme: 'slack', secret: SECRET } }));

  it('answers a signed challenge with the challenge as text/plain, records a handshake event and starts no run', async () => {
    const answer = await call('POST', `/api/webhook/${ws}/slack-events`, { body, headers: signed(SECRET) });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(answer.text).toBe(CHALLENGE);
    const events = await eventsOf('slack-events');
    expect(events).toHaveLength(1);
    expect(events[0].webhook.handshake).toBe('slack');
    expect(await runsOf('slack-events')).toHaveLength(0);
  });

  it('refuses a forged challenge with 401 and does not echo it', async () => {
    const answer = await call('POST', `/api/webhook/${ws}/slack-events`, { body, headers: signed('not-the-slack-secret') });
    expect(answer.status).toBe(401);
    expect(answer.text).not.toContain(CHALLENGE);
    expect(JSON.parse(answer.text)).toStrictEqual({ error: 'Invalid shared key' });
  });

  it('an ordinary signed event still starts a run', async () => {
    const event = JSON.stringify({ type: 'event_callback', event: { type: 'app_mention', text: 'url_verification is just text here' } });
    const t = Math.floor(Date.now() / 1000);
    const answer = await call('POST', `/api/webhook/${ws}/slack-events`, {
      body: event,
      headers: { 'content-type': 'application/json', 'x-slack-request-timestamp': String(t), 'x-slack-signature': `v0=${hmac(SECRET, `v0:${t}:${event}`).digest('hex')}` },
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ status: 'accepted', workflow_started: true });
  });
});

describe('Meta (WhatsApp, Instagram, Messenger) GET verification', () => {
  const VERIFY_TOKEN = 'meta-verify-token-handshake-77';

  beforeAll(() => createWorkflow('whatsapp', { handshake: { provider: 'meta', verifyToken: VERIFY_TOKEN }, signature: { scheme: 'github', secret: 'meta-app-secret-01' } }));

  it('echoes hub.challenge as text/plain when hub.verify_token matches (no shared key needed)', async () => {
    const answer = await call('GET', `/api/webhook/${ws}/whatsapp?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1158201444`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(answer.text).toBe('1158201444');
    const event = (await eventsOf('whatsapp'))[0];
    expect(event.webhook.handshake).toBe('meta');
    // The verify token is a secret: neither the stored query nor anything else keeps it.
    expect(JSON.stringify(event)).not.toContain(VERIFY_TOKEN);
  });

  it('refuses a wrong verify token with 401, and a GET without the hub parameters with 405', async () => {
    const wrong = await call('GET', `/api/webhook/${ws}/whatsapp?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1158201444`);
    expect(wrong.status).toBe(401);
    expect(wrong.text).not.toContain('1158201444');
    const plain = await call('GET', `/api/webhook/${ws}/whatsapp`);
    expect(plain.status).toBe(405);
    expect(plain.headers.get('allow')).toBe('GET, POST');
  });

  it('a hub GET that is no verification (no hub.challenge) is a 405 whose Allow names every method the trigger takes', async () => {
    await createWorkflow('whatsapp-put', { methods: ['POST', 'PUT'], handshake: { provider: 'meta', verifyToken: VERIFY_TOKEN } });
    const answer = await call('GET', `/api/webhook/${ws}/whatsapp-put?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}`);
    expect([answer.status, answer.headers.get('allow')]).toStrictEqual([405, 'GET, POST, PUT']);
    expect((await call('GET', `/api/webhook/${ws}/whatsapp-put`)).headers.get('allow')).toBe('GET, POST, PUT');
  });

  it('shows the verify token as {"set":true}, keeps it through a PUT of the GET answer, and never returns it', async () => {
    const fetched = await test.api('GET', `/api/workspaces/${ws}/workflows/whatsapp`);
    expect(fetched.body.trigger.handshake).toStrictEqual({ provider: 'meta', verifyToken: { set: true } });
    expect(JSON.stringify(fetched.body)).not.toContain(VERIFY_TOKEN);
    const put = await test.api('PUT', `/api/workspaces/${ws}/workflows/whatsapp`, fetched.body);
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const again = await call('GET', `/api/webhook/${ws}/whatsapp?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=42`);
    expect(again.text).toBe('42');
    expect(test.logs()).not.toContain(VERIFY_TOKEN);
  });

  it('a new provider needs its own secret: switching to zoom without secretToken is a 400 naming the field', async () => {
    const put = await test.api('PUT', `/api/workspaces/${ws}/workflows/whatsapp`, { name: 'whatsapp', trigger: { type: 'webhook', handshake: { provider: 'zoom' } } });
    expect(put.status).toBe(400);
    expect(JSON.stringify(put.body.details)).toContain('trigger.handshake.secretToken');
  });
});

describe('Zoom endpoint.url_validation', () => {
  const SECRET_TOKEN = 'zoom-secret-token-handshake-3';

  beforeAll(() => createWorkflow('zoom', { handshake: { provider: 'zoom', secretToken: SECRET_TOKEN } }));

  it('answers {plainToken, encryptedToken = hex HMAC-SHA256(secret token, plainToken)}', async () => {
    const plainToken = 'qgg8vlvZRS6UYooatFL8Aw';
    const body = JSON.stringify({ payload: { plainToken }, event_ts: 1654503849680, event: 'endpoint.url_validation' });
    const answer = await call('POST', `/api/webhook/${ws}/zoom?key=${KEY}`, { body, headers: { 'content-type': 'application/json' } });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(JSON.parse(answer.text)).toStrictEqual({ plainToken, encryptedToken: hmac(SECRET_TOKEN, plainToken).digest('hex') });
    expect(await runsOf('zoom')).toHaveLength(0);
  });

  it('needs the shared key like any call to the trigger', async () => {
    const body = JSON.stringify({ payload: { plainToken: 'x' }, event: 'endpoint.url_validation' });
    expect((await call('POST', `/api/webhook/${ws}/zoom`, { body, headers: { 'content-type': 'application/json' } })).status).toBe(401);
  });
});

describe('Microsoft Graph validationToken', () => {
  beforeAll(() => createWorkflow('graph', { handshake: { provider: 'graph' } }));

  it('echoes the decoded validationToken as text/plain', async () => {
    const token = 'Validation: Testing client application at 2026-12-04T10:00:00Z';
    const answer = await call('POST', `/api/webhook/${ws}/graph?key=${KEY}&validationToken=${encodeURIComponent(token)}`, { body: '', headers: { 'content-type': 'text/plain; charset=utf-8' } });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(answer.text).toBe(token);
    expect(await runsOf('graph')).toHaveLength(0);
  });

  it('a notification without validationToken is an ordinary delivery', async () => {
    const answer = await call('POST', `/api/webhook/${ws}/graph?key=${KEY}`, { body: JSON.stringify({ value: [{ changeType: 'created' }] }), headers: { 'content-type': 'application/json' } });
    expect(JSON.parse(answer.text)).toMatchObject({ status: 'accepted', workflow_started: true });
  });
});

describe('X (Twitter) CRC', () => {
  // The example consumer secret and token of X's published CRC sample.
  const CONSUMER_SECRET = 'z3ZX4v7mAAUGykl3EcmkqbartmuW8VFOOzCloLx9Q45P0hLrFu';
  const CRC_TOKEN = '9b4507b3-9040-4669-9ca3-6b94edb50553';

  beforeAll(() => createWorkflow('x', { handshake: { provider: 'x', consumerSecret: CONSUMER_SECRET } }));

  it('answers {"response_token":"sha256=" + base64 HMAC-SHA256(consumer secret, crc_token)}', async () => {
    const answer = await call('GET', `/api/webhook/${ws}/x?crc_token=${CRC_TOKEN}&key=${KEY}`);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toStrictEqual({ response_token: `sha256=${hmac(CONSUMER_SECRET, CRC_TOKEN).digest('base64')}` });
  });

  it('refuses a CRC without the shared key: it would sign any text under the consumer secret', async () => {
    const answer = await call('GET', `/api/webhook/${ws}/x?crc_token=${CRC_TOKEN}`);
    expect(answer.status).toBe(401);
    expect(answer.text).not.toContain('sha256=');
  });
});

describe('Dropbox verification GET', () => {
  beforeAll(() => createWorkflow('dropbox', { handshake: { provider: 'dropbox' } }));

  it('echoes the challenge as text/plain with X-Content-Type-Options: nosniff', async () => {
    const answer = await call('GET', `/api/webhook/${ws}/dropbox?challenge=<b>dGVzdA</b>&key=${KEY}`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    expect(answer.text).toBe('<b>dGVzdA</b>');
  });

  it('without the key → 401; on a trigger without a GET handshake, GET stays a 405 naming POST', async () => {
    expect((await call('GET', `/api/webhook/${ws}/dropbox?challenge=abc`)).status).toBe(401);
    const other = await call('GET', `/api/webhook/${ws}/graph?validationToken=abc&key=${KEY}`);
    expect(other.status).toBe(405);
    expect(other.headers.get('allow')).toBe('POST');
  });
});

describe("Svix's own header names (standard-webhooks scheme)", () => {
  const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

  beforeAll(() => createWorkflow('svix', { signature: { scheme: 'standard-webhooks', secret: SECRET } }));

  it("accepts a call signed by the svix library with its default svix-* headers, and the same svix-id twice is a duplicate", async () => {
    const body = JSON.stringify({ type: 'invoice.paid', id: 'inv_1' });
    const id = `msg_${randomBytes(6).toString('hex')}`;
    const timestamp = new Date();
    const headers = {
      'content-type': 'application/json',
      'svix-id': id,
      'svix-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'svix-signature': new SvixWebhook(SECRET).sign(id, timestamp, body),
    };
    const first = await call('POST', `/api/webhook/${ws}/svix`, { body, headers });
    expect(first.status, first.text).toBe(200);
    const accepted = JSON.parse(first.text);
    expect(accepted).toMatchObject({ status: 'accepted', workflow_started: true });
    const second = await call('POST', `/api/webhook/${ws}/svix`, { body, headers });
    expect(JSON.parse(second.text)).toStrictEqual({ status: 'accepted', workflow_started: false, duplicate: true, run_id: accepted.run_id });
  });
});

describe('Expect: 100-continue', () => {
  beforeAll(() => createWorkflow('continue', {}));

  /** Sends only the headers, then reads what the server says before any body byte is sent. */
  async function firstAnswer(query: string): Promise<{ head: string; socket: import('node:net').Socket }> {
    const { connect } = await import('node:net');
    const { port } = new URL(test.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.write(`POST /api/webhook/${ws}/continue${query} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n`);
    const head = await new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1'))));
    return { head, socket };
  }

  it('a wrong key gets 401 without a 100 Continue, so the body is never uploaded', async () => {
    const { head, socket } = await firstAnswer('?key=wrong-key-000');
    socket.destroy();
    expect(head.startsWith('HTTP/1.1 401')).toBe(true);
    expect(head).not.toContain('100 Continue');
  });

  it('a call that passes the checks gets 100 Continue, then its 200 once the body is sent', async () => {
    const { head, socket } = await firstAnswer(`?key=${KEY}`);
    expect(head.startsWith('HTTP/1.1 100 Continue')).toBe(true);
    const rest = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        if (text.includes('"status":"accepted"')) resolve(text);
      });
    });
    socket.write('{"a":"123"}');
    const answer = await rest;
    socket.destroy();
    expect(answer.startsWith('HTTP/1.1 200')).toBe(true);
  });
});
