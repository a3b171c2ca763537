import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exited, startCli } from './helpers/cli.js';
import { eventually, startLoopbackServer } from './helpers/loopback.js';

/**
 * Issue 9: each shutdown 503 was logged at `error` with a stack trace (30 lines for one graceful
 * stop). A graceful stop under load is expected: it must log nothing at `error` or above.
 */
const ADMIN = 'graceful-stop-admin-token-0123456789';
const SENDERS = 40;

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('a graceful stop under load', () => {
  it('exits 0 and logs no line at error', async () => {
    const api = await startLoopbackServer((_request, response) => {
      // Slow enough that runs are in flight when the stop comes.
      setTimeout(() => response.end('ok'), 20);
    });
    const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-stop-'));
    dirs.push(dataDir);
    const serve = await startCli('serve', {
      PORT: '0', HOOKFLOW_DATA_DIR: dataDir, HOOKFLOW_ADMIN_TOKEN: ADMIN, HOOKFLOW_WORKER_CONCURRENCY: '8', HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8',
    });
    children.push(serve.child);
    const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    expect((await fetch(`${serve.url}/api/workspaces`, { method: 'POST', headers: admin, body: JSON.stringify({ id: 'shop', name: 'Shop' }) })).status).toBe(201);
    const created = await fetch(`${serve.url}/api/workspaces/shop/workflows`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ id: 'orders', name: 'Orders', trigger: { type: 'webhook', sharedKey: 'graceful-stop-key' }, steps: [{ id: 'call', type: 'http', method: 'POST', url: `${api.url}/orders`, body: 'x' }] }),
    });
    expect(created.status).toBe(201);

    // One webhook is half sent when the stop begins, with a second pipelined behind it: the first
    // is in flight (answered as usual), the second arrives during the shutdown (a 503).
    const webhook = new URL(`${serve.url}/api/webhook/shop/orders?key=graceful-stop-key`);
    const raw = (body: string) => `POST ${webhook.pathname}${webhook.search} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const socket = connect(Number(webhook.port), '127.0.0.1');
    let pipelined = '';
    socket.on('data', (chunk: Buffer) => (pipelined += chunk.toString()));
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    const first = raw('{"n":"first"}');
    socket.write(first.slice(0, -3));

    const statuses = new Map<number | string, number>();
    let accepted = 0;
    let stopping = false;
    const senders = Array.from({ length: SENDERS }, async () => {
      for (;;) {
        try {
          const response = await fetch(`${serve.url}/api/webhook/shop/orders?key=graceful-stop-key`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":1}' });
          await response.arrayBuffer();
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          if (response.status === 200) accepted++;
          if (response.status === 503) expect(response.headers.get('retry-after')).not.toBeNull();
        } catch {
          // The listener is gone: this sender is done.
          statuses.set('closed', (statuses.get('closed') ?? 0) + 1);
          return;
        }
        if (!stopping && accepted >= 300) {
          stopping = true;
          serve.child.kill('SIGTERM');
          await eventually(async () => (/stopping: no new requests/.test(serve.output()) ? true : undefined));
          socket.write(first.slice(-3) + raw('{"n":"second"}'));
        }
      }
    });
    await Promise.all(senders);
    await exited(serve.child);
    await api.close();

    expect(serve.child.exitCode).toBe(0);
    expect([...statuses.keys()].filter((status) => status !== 200 && status !== 503 && status !== 'closed')).toEqual([]);
    const lines = serve.output().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(lines.some((line) => line.msg === 'stopped')).toBe(true);
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    expect(pipelined).toMatch(/^HTTP\/1.1 200 OK[\s\S]*HTTP\/1.1 503 Service Unavailable[\s\S]*retry-after: 5[\s\S]*\{"error":"Service unavailable"\}$/i);
    socket.destroy();
    // The refusal is there, as one warn line without a stack.
    const refusals = lines.filter((line) => line.msg === 'request refused; sender asked to retry');
    expect(refusals.length).toBeGreaterThanOrEqual(1);
    for (const refusal of refusals) expect(refusal).toMatchObject({ level: 40, reason: 'Server is shutting down' });
    expect(serve.output()).not.toMatch(/"stack"/);
  }, 120_000);
});
