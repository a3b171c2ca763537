import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, TEST_ADMIN_TOKEN, type TestApp } from './helpers/app.js';
import { eventually } from './helpers/loopback.js';

/** A live test run whose caller hangs up stops its running HTTP step (test-run-routes.ts). */
let app: TestApp;
const held: IncomingMessage[] = [];
let closed = 0;
const slow = createServer((request) => {
  // Never answers: only a hang-up on hookflow's side ends this call.
  held.push(request);
  request.socket.once('close', () => closed++);
});

beforeAll(async () => {
  await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
  app = await startTestApp({ env: { HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8' } });
  expect((await app.api('POST', '/api/workspaces', { id: 'hang', name: 'Hang' })).status).toBe(201);
  const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/slow`;
  const created = await app.api('POST', '/api/workspaces/hang/workflows', { id: 'wf', name: 'wf', maxAttempts: 1, trigger: { type: 'webhook' }, steps: [{ id: 'call', type: 'http', method: 'GET', url, timeoutMs: 600_000, output: 'r' }] });
  expect(created.status).toBe(201);
}, 60_000);

afterAll(async () => {
  await app.stop();
  slow.closeAllConnections();
  await new Promise<void>((resolve) => slow.close(() => resolve()));
});

it('a live test run stops its HTTP step when the caller hangs up', async () => {
  const caller = new AbortController();
  const answer = fetch(`${app.url}/api/workspaces/hang/workflows/wf/test-runs`, {
    method: 'POST', signal: caller.signal,
    headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ mode: 'live', event: { headers: {}, body: {} } }),
  }).catch(() => 'aborted');
  await eventually(async () => (held.length === 1 ? true : undefined));
  caller.abort();
  expect(await answer).toBe('aborted');
  // hookflow drops its call to the slow server once its own caller is gone.
  await eventually(async () => (closed === 1 ? true : undefined));
}, 60_000);
