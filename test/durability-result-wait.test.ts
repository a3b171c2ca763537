import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exited, startCli } from './helpers/cli.js';
import { eventually, startLoopbackServer } from './helpers/loopback.js';

/*
 * `responseMode: result` under kill -9: the node dies while callers wait for their run (one with
 * `Prefer: wait`, one already answered 202). The waiting caller gets a clean error at once (its
 * connection closes; it never hangs); nothing is lost: after a restart both runs complete, the
 * 202's status_url shows the result, and the waiting caller's retry with the same idempotency
 * key gets the workflow's answer from the same single run.
 */
const ADMIN = 'result-wait-admin-token-0123456789';
const KEY = 'result-wait-shared-key-1';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const child of children) {
    child.kill('SIGKILL');
    await exited(child);
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('result mode under kill -9', () => {
  it('a waiting caller gets a clean error, its run completes after the restart, and the status URL answers', async () => {
    let holding = true;
    const fake = await startLoopbackServer((request, response) => {
      if (holding) return; // the step hangs until the node is killed
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ label: `L-${JSON.parse(request.body).order}` }));
    });
    const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-result-kill9-'));
    dirs.push(dataDir);
    // A short lease, so the restarted node takes the killed node's runs back quickly.
    const env = { PORT: '0', HOOKFLOW_DATA_DIR: dataDir, HOOKFLOW_ADMIN_TOKEN: ADMIN, HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8', HOOKFLOW_LEASE_MS: '1000', HOOKFLOW_RETRY_BASE_MS: '100', HOOKFLOW_WORKER_CONCURRENCY: '4' };
    try {
      const first = await startCli('serve', env);
      children.push(first.child);
      const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
      expect((await fetch(`${first.url}/api/workspaces`, { method: 'POST', headers: admin, body: JSON.stringify({ id: 'shop', name: 'Shop' }) })).status).toBe(201);
      for (const [id, timeoutMs, wait] of [['quote', 60_000, 'prefer'], ['slow', 300, 'always']] as const) {
        const created = await fetch(`${first.url}/api/workspaces/shop/workflows`, {
          method: 'POST',
          headers: admin,
          body: JSON.stringify({
            id, name: id,
            trigger: { type: 'webhook', sharedKey: KEY, bodyMemory: 'order', response: { mode: 'result', timeoutMs, wait } },
            steps: [
              { id: 'label', type: 'http', method: 'POST', url: `${fake.url}/labels`, body: { order: '{{order.id}}' }, timeoutMs: 60_000, output: 'label' },
              { id: 'answer', type: 'respond', status: 201, body: { order: '{{order.id}}', label: '{{label.body.label}}' } },
            ],
          }),
        });
        expect(created.status).toBe(201);
      }
      const post = (base: string, workflow: string, order: number, headers: Record<string, string> = {}) =>
        fetch(`${base}/api/webhook/shop/${workflow}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-key': KEY, ...headers }, body: JSON.stringify({ id: order }) });

      // Answered 202 (its wait ran out while the step hangs): the run is owed.
      const timedOut = await post(first.url as string, 'slow', 1);
      expect(timedOut.status).toBe(202);
      const owed = (await timedOut.json()) as { run_id: string; status_url: string };
      // Waiting, with Prefer: wait, on a run whose step hangs.
      const waiting = post(first.url as string, 'quote', 2, { prefer: 'wait=60', 'idempotency-key': 'order-2' }).then(
        (response) => `answered ${response.status}`,
        (error: Error) => `failed: ${error.message}`,
      );
      await eventually(async () => (fake.received.length >= 2 ? true : undefined), 30_000);

      first.child.kill('SIGKILL');
      await exited(first.child);
      // The caller is not left hanging until its 60 s: the connection closed under it.
      expect(await waiting).toMatch(/^failed: /);
      holding = false;

      const second = await startCli('serve', env);
      children.push(second.child);
      const base = second.url as string;
      // The status URL (from the 202, on the restarted node) ends with the workflow's answer.
      const statusPath = new URL(owed.status_url).pathname;
      const status = await eventually(async () => {
        const answer = await fetch(`${base}${statusPath}`, { headers: { 'x-webhook-key': KEY } });
        const body = (await answer.json()) as { status: string; result?: unknown };
        return body.status === 'succeeded' ? body : undefined;
      }, 60_000);
      expect(status).toMatchObject({ run_id: owed.run_id, status: 'succeeded', result: { status: 201, body: { order: 1, label: 'L-1' } } });

      // The sender retries the call that got no answer: the same key reaches the same run, whose answer it now gets.
      const retried = await post(base, 'quote', 2, { prefer: 'wait=60', 'idempotency-key': 'order-2' });
      expect(retried.status).toBe(201);
      expect(await retried.json()).toEqual({ order: 2, label: 'L-2' });
      const runs = (await (await fetch(`${base}/api/workspaces/shop/workflows/quote/runs`, { headers: admin })).json()) as { items: { status: string }[] };
      expect(runs.items.map((run) => run.status)).toEqual(['succeeded']);
    } finally {
      await fake.close();
    }
  }, 120_000);
});
