import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';

/**
 * Key rotation over time, driven by the injected clock (no sleeping): the new key works at once,
 * the old one until the grace period ends, and no read of the workflow ever shows a key.
 */
const T0 = Date.UTC(2025, 2, 1, 9, 0, 0);
let nowMs = T0;
let test: TestApp;
let ws: string;
let counter = 0;
/** Every key and secret handed to the server, generated ones included, for the final scan. */
const used = new Set<string>();

const REFUSED = { status: 401, body: { error: 'Invalid shared key' } };

beforeAll(async () => {
  test = await startTestApp({ clock: () => nowMs, keepDataDir: true });
  ws = (await createWorkflow(test, { id: 'seed', name: 'seed', trigger: { type: 'webhook' } })).workspaceId;
});
afterAll(async () => {
  await test.stop();
  rmSync(test.dataDir, { recursive: true, force: true });
});
beforeEach(() => {
  nowMs = T0;
});

async function newWorkflow(trigger: Record<string, unknown>): Promise<string> {
  const id = `rot-${++counter}`;
  const created = await test.api('POST', `/api/workspaces/${ws}/workflows`, { id, name: id, trigger: { type: 'webhook', ...trigger } });
  expect(created.status).toBe(201);
  return id;
}

async function call(wf: string, headers: Record<string, string>) {
  const response = await fetch(`${test.url}/api/webhook/${ws}/${wf}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"ping":true}' });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text) };
}
const withKey = (wf: string, key: string) => call(wf, { 'x-webhook-key': key });
const rotate = (wf: string, body: Record<string, unknown>) => test.api('POST', `/api/workspaces/${ws}/workflows/${wf}/keys/rotate`, body);

describe('shared key rotation', () => {
  const OLD = 'rotation-old-key-5b71d0';
  const NEW = 'rotation-new-key-a93c44';

  it('new key at once, old key until t+59 s, old key refused at t+61 s', async () => {
    const wf = await newWorkflow({ sharedKey: OLD });
    const rotated = await rotate(wf, { sharedKey: NEW, graceSeconds: 60 });
    expect(rotated.status).toBe(200);
    expect(rotated.body).toStrictEqual({
      webhookUrl: `${test.url}/api/webhook/${ws}/${wf}?key=${NEW}`,
      previousKeysExpireAt: new Date(T0 + 60_000).toISOString(),
    });

    expect((await withKey(wf, NEW)).status).toBe(200);
    expect((await withKey(wf, OLD)).status).toBe(200);
    nowMs = T0 + 59_000;
    expect((await withKey(wf, OLD)).status).toBe(200);
    nowMs = T0 + 61_000;
    expect(await withKey(wf, OLD)).toStrictEqual(REFUSED);
    expect((await withKey(wf, NEW)).status).toBe(200);
  });

  it('graceSeconds 0 refuses the old key immediately', async () => {
    const wf = await newWorkflow({ sharedKey: OLD });
    expect((await rotate(wf, { sharedKey: NEW, graceSeconds: 0 })).status).toBe(200);
    expect(await withKey(wf, OLD)).toStrictEqual(REFUSED);
    expect((await withKey(wf, NEW)).status).toBe(200);
  });

  it('defaults to a 24 h grace period', async () => {
    const wf = await newWorkflow({ sharedKey: OLD });
    const rotated = await rotate(wf, { sharedKey: NEW });
    expect(rotated.body.previousKeysExpireAt).toBe(new Date(T0 + 86_400_000).toISOString());
    nowMs = T0 + 86_399_000;
    expect((await withKey(wf, OLD)).status).toBe(200);
    nowMs = T0 + 86_401_000;
    expect(await withKey(wf, OLD)).toStrictEqual(REFUSED);
  });

  it('a second rotation during the grace period never extends the first old key', async () => {
    const wf = await newWorkflow({ sharedKey: OLD });
    expect((await rotate(wf, { sharedKey: NEW, graceSeconds: 60 })).status).toBe(200);
    nowMs = T0 + 10_000;
    const THIRD = 'rotation-third-key-77e0f2';
    expect((await rotate(wf, { sharedKey: THIRD, graceSeconds: 3600 })).status).toBe(200);
    nowMs = T0 + 61_000;
    expect(await withKey(wf, OLD)).toStrictEqual(REFUSED);
    expect((await withKey(wf, NEW)).status).toBe(200);
    expect((await withKey(wf, THIRD)).status).toBe(200);
    nowMs = T0 + 10_000 + 3_601_000;
    expect(await withKey(wf, NEW)).toStrictEqual(REFUSED);
    expect((await withKey(wf, THIRD)).status).toBe(200);
  });

  it('without a sharedKey a new one is generated, shown once in webhookUrl, and works', async () => {
    const wf = await newWorkflow({ sharedKey: OLD });
    const rotated = await rotate(wf, { graceSeconds: 60 });
    expect(rotated.status).toBe(200);
    const generated = new URL(rotated.body.webhookUrl).searchParams.get('key');
    used.add(generated ?? '');
    expect(generated).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect((await withKey(wf, generated!)).status).toBe(200);
    const fetched = await test.api('GET', `/api/workspaces/${ws}/workflows/${wf}`);
    expect(JSON.stringify(fetched.body)).not.toContain(generated!);
  });

  it('GET and list never show a key, only {"set":true}, and webhookUrl carries no ?key=', async () => {
    const wf = await newWorkflow({ sharedKey: OLD });
    await rotate(wf, { sharedKey: NEW, graceSeconds: 60 });
    const one = await test.api('GET', `/api/workspaces/${ws}/workflows/${wf}`);
    expect(one.status).toBe(200);
    expect(one.body.trigger.sharedKey).toStrictEqual({ set: true });
    expect(one.body.webhookUrl).toBe(`${test.url}/api/webhook/${ws}/${wf}`);
    const list = await test.api('GET', `/api/workspaces/${ws}/workflows?limit=500`);
    for (const text of [JSON.stringify(one.body), JSON.stringify(list.body)]) {
      expect(text).not.toContain(OLD);
      expect(text).not.toContain(NEW);
      expect(text).not.toContain('key=');
    }
  });

  it.each([[-1], [1.5], ['60'], [365 * 86_400 + 1]])('400 for graceSeconds %j, and nothing rotates', async (graceSeconds) => {
    const wf = await newWorkflow({ sharedKey: OLD });
    const answer = await rotate(wf, { sharedKey: NEW, graceSeconds });
    expect(answer.status).toBe(400);
    expect(answer.body).toStrictEqual({ error: 'Invalid request', details: ['graceSeconds: must be a whole number of seconds between 0 and 31536000'] });
    expect(await withKey(wf, NEW)).toStrictEqual(REFUSED);
  });

  it('404 when rotating an unknown workflow', async () => {
    const answer = await rotate('no-such-workflow', { sharedKey: NEW });
    expect(answer.status).toBe(404);
    expect(answer.body.error).toBe('Not found');
  });
});

describe('signature secret rotation', () => {
  const S1 = 'gh-rotation-secret-one-0c1d';
  const S2 = 'gh-rotation-secret-two-8e2f';
  const signed = (secret: string) => ({ 'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update('{"ping":true}').digest('hex')}` });

  it('both secrets verify during the grace period; the old one is refused after it', async () => {
    const wf = await newWorkflow({ signature: { scheme: 'github', secret: S1 } });
    expect((await call(wf, signed(S1))).status).toBe(200);
    const rotated = await rotate(wf, { signatureSecret: S2, graceSeconds: 60 });
    expect(rotated.status).toBe(200);
    expect(JSON.stringify(rotated.body)).not.toContain(S2);

    expect((await call(wf, signed(S1))).status).toBe(200);
    expect((await call(wf, signed(S2))).status).toBe(200);
    nowMs = T0 + 59_000;
    expect((await call(wf, signed(S1))).status).toBe(200);
    nowMs = T0 + 61_000;
    expect(await call(wf, signed(S1))).toStrictEqual(REFUSED);
    expect((await call(wf, signed(S2))).status).toBe(200);
    expect(JSON.stringify((await test.api('GET', `/api/workspaces/${ws}/workflows/${wf}`)).body)).not.toMatch(/gh-rotation-secret/);
  });

  it('rotating only the signature secret leaves the shared key alone (a trigger needing both keeps working)', async () => {
    const KEY = 'rotation-both-shared-key-77aa';
    const wf = await newWorkflow({ sharedKey: KEY, signature: { scheme: 'github', secret: S1, requireSharedKey: true } });
    const rotated = await rotate(wf, { signatureSecret: S2, graceSeconds: 1 });
    expect(rotated.status).toBe(200);
    expect(rotated.body.webhookUrl).not.toContain('?key=');
    nowMs = T0 + 3_600_000;
    expect((await call(wf, { 'x-webhook-key': KEY, ...signed(S2) })).status).toBe(200);
  });

  it('rotating only the shared key leaves the signature secret valid past the grace period', async () => {
    const wf = await newWorkflow({ signature: { scheme: 'github', secret: S1 } });
    expect((await rotate(wf, { graceSeconds: 1 })).status).toBe(200);
    nowMs = T0 + 3_600_000;
    expect((await call(wf, signed(S1))).status).toBe(200);
  });

  it('400 for an empty signatureSecret', async () => {
    const wf = await newWorkflow({ signature: { scheme: 'github', secret: S1 } });
    const answer = await rotate(wf, { signatureSecret: '' });
    expect(answer.status).toBe(400);
    expect(answer.body).toStrictEqual({ error: 'Invalid request', details: ['signatureSecret: must be a non-empty string'] });
  });
});

describe('secrets at rest', () => {
  it('no shared key or signature secret is in plaintext in the data dir or the logs', () => {
    const secrets = [...used, 'rotation-old-key-5b71d0', 'rotation-new-key-a93c44', 'rotation-third-key-77e0f2', 'gh-rotation-secret-one-0c1d', 'gh-rotation-secret-two-8e2f'].filter((s) => s !== '');
    const bytes = Buffer.concat(readdirSync(test.dataDir).map((name) => readFileSync(join(test.dataDir, name))));
    expect(secrets.filter((secret) => bytes.includes(secret) || test.logs().includes(secret))).toStrictEqual([]);
  });
});
