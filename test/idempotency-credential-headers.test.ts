import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';

/*
 * `trigger.idempotencyHeader` naming the header that carries the shared key (`X-Webhook-Key`,
 * `Authorization`) would store that key, in plain text, as every event's idempotency key. Such a
 * definition is refused when it is saved.
 */
let test: TestApp;
beforeAll(async () => {
  test = await startTestApp();
  expect((await test.api('POST', '/api/workspaces', { id: 'idem', name: 'idem' })).status).toBe(201);
});
afterAll(async () => {
  await test.stop();
});

describe('idempotencyHeader naming a credential header', () => {
  it.each(['X-Webhook-Key', 'authorization', 'Proxy-Authorization', 'cookie'])('%s is refused at save time (400 naming the field), on create, PUT and PATCH', async (header) => {
    const KEY = 'idem-shared-key-0a1b2c3d';
    const created = await test.api('POST', '/api/workspaces/idem/workflows', { name: 'x', trigger: { type: 'webhook', sharedKey: KEY, idempotencyHeader: header } });
    expect(created.status).toBe(400);
    expect(created.body.details.join('\n')).toMatch(/^trigger\.idempotencyHeader: /m);

    const id = `ok-${header.toLowerCase()}`;
    expect((await test.api('POST', '/api/workspaces/idem/workflows', { id, name: 'ok', trigger: { type: 'webhook', sharedKey: KEY } })).status).toBe(201);
    const current = (await test.api('GET', `/api/workspaces/idem/workflows/${id}`)).body;
    const put = await test.api('PUT', `/api/workspaces/idem/workflows/${id}`, { name: current.name, trigger: { ...current.trigger, idempotencyHeader: header }, steps: [] });
    expect(put.status).toBe(400);
    const patched = await test.api('PATCH', `/api/workspaces/idem/workflows/${id}`, { trigger: { idempotencyHeader: header } });
    expect(patched.status).toBe(400);
  });

  it('a delivery header is still accepted, and the key sent beside it is never stored', async () => {
    const KEY = 'idem-shared-key-4e5f6a7b';
    const created = await test.api('POST', '/api/workspaces/idem/workflows', { id: 'delivery', name: 'delivery', trigger: { type: 'webhook', sharedKey: KEY, idempotencyHeader: 'X-Delivery-Id' } });
    expect(created.status).toBe(201);
    for (let i = 0; i < 2; i++) {
      const sent = await fetch(`${test.url}/api/webhook/idem/delivery`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-key': KEY, 'x-delivery-id': 'delivery-1' }, body: '{}' });
      expect(sent.status).toBe(200);
      expect(((await sent.json()) as { duplicate?: boolean }).duplicate === true).toBe(i === 1);
    }
    const bytes = Buffer.concat(readdirSync(test.dataDir).map((name) => readFileSync(join(test.dataDir, name))));
    expect(bytes.includes('delivery-1')).toBe(true);
    expect(bytes.includes(KEY)).toBe(false);
  });
});
