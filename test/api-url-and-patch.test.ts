import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, TEST_ADMIN_TOKEN, type TestApp } from './helpers/app.js';

const KEY = 'orders-shared-key-0123';
const SIGNING = 'whsec-signing-secret-xyz';

const definition = {
  id: 'orders',
  name: 'Orders',
  trigger: { type: 'webhook', sharedKey: KEY, bodyMemory: 'orderData', rateLimit: { perMinute: 100 } },
  steps: [{ id: 'pick', type: 'script', output: 'email', code: 'return memory.load("orderData").email;' }],
};

async function call(test: TestApp, method: string, path: string, init: { body?: string; contentType?: string } = {}) {
  const response = await fetch(`${test.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, ...(init.contentType === undefined ? {} : { 'content-type': init.contentType }) },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text) };
}

describe('webhook URL retrieval and PATCH', () => {
  let test: TestApp;
  let ws: string;
  const wfPath = () => `/api/workspaces/${ws}/workflows/orders`;

  beforeAll(async () => {
    test = await startTestApp();
    ({ workspaceId: ws } = await createWorkflow(test, definition));
  });
  afterAll(() => test.stop());

  it('gives both URLs without the key, and with ?reveal=true both carry it and the key works', async () => {
    const plain = await test.api('GET', `${wfPath()}/webhook-url`);
    expect(plain.status).toBe(200);
    expect(plain.body).toEqual({ webhookUrl: `${test.url}/api/webhook/${ws}/orders`, testWebhookUrl: `${test.url}/api/webhook-test/${ws}/orders` });

    const revealed = await test.api('GET', `${wfPath()}/webhook-url?reveal=true`);
    expect(revealed.status).toBe(200);
    expect(revealed.body).toEqual({
      webhookUrl: `${test.url}/api/webhook/${ws}/orders?key=${KEY}`,
      testWebhookUrl: `${test.url}/api/webhook-test/${ws}/orders?key=${KEY}`,
    });
    const sent = await fetch(revealed.body.testWebhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email":"a@example.com"}' });
    expect(sent.status).toBe(200);
    expect(await sent.json()).toMatchObject({ test: true });
  });

  it('reveals the new key after a rotation, not the old one still in its grace period', async () => {
    const rotated = await test.api('POST', `${wfPath()}/keys/rotate`, { sharedKey: 'rotated-key-456789', graceSeconds: 600 });
    expect(rotated.status).toBe(200);
    const revealed = await test.api('GET', `${wfPath()}/webhook-url?reveal=true`);
    expect(revealed.body.webhookUrl).toBe(`${test.url}/api/webhook/${ws}/orders?key=rotated-key-456789`);
  });

  it('answers 404 for an unknown workflow and 400 for a bad reveal value', async () => {
    expect((await test.api('GET', `/api/workspaces/${ws}/workflows/nope/webhook-url`)).status).toBe(404);
    expect((await test.api('GET', `${wfPath()}/webhook-url?reveal=yes`)).status).toBe(400);
  });

  it('PATCH {"enabled": false} makes a new version with the rest unchanged, and the webhook then answers 404', async () => {
    const before = await test.api('GET', wfPath());
    const patched = await call(test, 'PATCH', wfPath(), { body: '{"enabled": false}', contentType: 'application/merge-patch+json' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ enabled: false, version: before.body.version + 1, name: 'Orders', steps: before.body.steps });
    expect(patched.body.trigger).toEqual(before.body.trigger);
    const sent = await fetch(`${test.url}/api/webhook/${ws}/orders?key=rotated-key-456789`, { method: 'POST', body: '{}' });
    expect(sent.status).toBe(404);
  });

  it('PATCH with application/json removes a member with null and merges nested objects', async () => {
    const patched = await call(test, 'PATCH', wfPath(), {
      body: JSON.stringify({ enabled: true, trigger: { rateLimit: null, headerMemory: 'orderHeaders' } }),
      contentType: 'application/json',
    });
    expect(patched.status).toBe(200);
    expect(patched.body.trigger).not.toHaveProperty('rateLimit');
    expect(patched.body.trigger).toMatchObject({ headerMemory: 'orderHeaders', bodyMemory: 'orderData', sharedKey: { set: true } });
    // The stored key is kept: the webhook still accepts it.
    const sent = await fetch(`${test.url}/api/webhook/${ws}/orders?key=rotated-key-456789`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email":"b@example.com"}' });
    expect(sent.status).toBe(200);
  });

  it('PATCH can add a signature with its secret; the secret is never shown back', async () => {
    const patched = await call(test, 'PATCH', wfPath(), { body: JSON.stringify({ trigger: { signature: { scheme: 'github', secret: SIGNING } } }), contentType: 'application/merge-patch+json' });
    expect(patched.status).toBe(200);
    expect(patched.body.trigger.signature).toEqual({ scheme: 'github', secret: { set: true } });
    expect(JSON.stringify(patched.body)).not.toContain(SIGNING);
  });

  it('PATCH refuses what PUT refuses (400 naming the field) and keeps the current version', async () => {
    const before = await test.api('GET', wfPath());
    const bad = await call(test, 'PATCH', wfPath(), { body: JSON.stringify({ maxAttempts: 0 }), contentType: 'application/merge-patch+json' });
    expect(bad.status).toBe(400);
    expect(bad.body.details.join(' ')).toContain('maxAttempts');
    const notObject = await call(test, 'PATCH', wfPath(), { body: '[1]', contentType: 'application/merge-patch+json' });
    expect(notObject.status).toBe(400);
    const renamed = await call(test, 'PATCH', wfPath(), { body: '{"id":"other"}', contentType: 'application/json' });
    expect(renamed.status).toBe(400);
    expect((await test.api('GET', wfPath())).body.version).toBe(before.body.version);
    expect((await call(test, 'PATCH', `/api/workspaces/${ws}/workflows/nope`, { body: '{"enabled":true}', contentType: 'application/json' })).status).toBe(404);
  });

  it('a GET or DELETE sent with content-type: application/json and no body is not a 400', async () => {
    const got = await call(test, 'GET', wfPath(), { contentType: 'application/json' });
    expect(got.status).toBe(200);
    const listed = await call(test, 'GET', `/api/workspaces/${ws}/workflows`, { contentType: 'application/json' });
    expect(listed.status).toBe(200);
    await test.api('POST', `/api/workspaces/${ws}/workflows`, { ...definition, id: 'doomed' });
    const deleted = await call(test, 'DELETE', `/api/workspaces/${ws}/workflows/doomed`, { contentType: 'application/json' });
    expect(deleted.status).toBe(204);
    // A body that is not JSON still is one.
    expect((await call(test, 'PATCH', wfPath(), { body: '{nope', contentType: 'application/json' })).status).toBe(400);
  });
});
