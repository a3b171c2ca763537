import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exited, startCli, type CliProcess } from './helpers/cli.js';
import { eventually, startLoopbackServer } from './helpers/loopback.js';

/**
 * A worker process is killed with SIGKILL in the middle of a run. Another worker recovers the
 * run once the lease lapses, resumes after the last checkpointed step, and finishes it: the
 * step that had finished is not repeated.
 */
const ADMIN = 'crash-admin-token-0123456789';
const processes: CliProcess[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const p of processes) p.child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('crash safety', () => {
  it('resumes a run after kill -9 without repeating finished steps', async () => {
    let holding = true;
    const server = await startLoopbackServer((request, response) => {
      if (request.url === '/hold' && holding) return; // never answers: the worker is stuck mid-step
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ ok: request.url }));
    });
    const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-crash-'));
    dirs.push(dataDir);
    const env = { HOOKFLOW_DATA_DIR: dataDir, HOOKFLOW_ADMIN_TOKEN: ADMIN, HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8', HOOKFLOW_LEASE_MS: '1000' };
    try {
      const serve = await startCli('serve', { ...env, PORT: '0', HOOKFLOW_WORKER_CONCURRENCY: '0' });
      processes.push(serve);
      const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
      await fetch(`${serve.url}/api/workspaces`, { method: 'POST', headers: admin, body: JSON.stringify({ id: 'ops', name: 'Ops' }) });
      const created = await fetch(`${serve.url}/api/workspaces/ops/workflows`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({
          id: 'alerts', name: 'Alerts', trigger: { type: 'webhook', sharedKey: 'monitoring-alert-key', bodyMemory: 'alertData' },
          steps: [
            { id: 'notify', type: 'http', method: 'POST', url: `${server.url}/notify`, body: '{{alertData}}' },
            { id: 'escalate', type: 'http', method: 'POST', url: `${server.url}/hold`, body: '{{alertData}}', timeoutMs: 60_000 },
            { id: 'close', type: 'http', method: 'POST', url: `${server.url}/close`, body: '{{alertData.server}}' },
          ],
        }),
      });
      expect(created.status).toBe(201);

      const firstWorker = await startCli('worker', env);
      processes.push(firstWorker);
      const alert = { alert: 'high_cpu_usage', severity: 'warning', server: 'web-01', cpu_usage: 85.2 };
      const accepted = await fetch(`${serve.url}/api/webhook/ops/alerts?key=monitoring-alert-key`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alert) });
      const { run_id } = (await accepted.json()) as { run_id: string };
      await eventually(async () => (server.received.some((r) => r.url === '/hold') ? true : undefined));
      firstWorker.child.kill('SIGKILL');
      await exited(firstWorker.child);
      holding = false;

      const secondWorker = await startCli('worker', env);
      processes.push(secondWorker);
      const run = await eventually(async () => {
        const response = await fetch(`${serve.url}/api/workspaces/ops/runs/${run_id}`, { headers: admin });
        const body = (await response.json()) as { status: string; attempts: number; steps: { id: string; status: string; attempt: number }[] };
        return body.status === 'succeeded' || body.status === 'failed' ? body : undefined;
      }, 30_000);

      expect(run.status).toBe('succeeded');
      expect(run.attempts).toBe(2);
      expect(run.steps.map((s) => [s.id, s.attempt])).toEqual([['notify', 1], ['escalate', 2], ['close', 2]]);
      const calls = (url: string) => server.received.filter((r) => r.url === url).length;
      expect(calls('/notify')).toBe(1); // finished before the crash: never repeated
      expect(calls('/hold')).toBe(2); // interrupted mid-call: run again
      expect(calls('/close')).toBe(1);
      expect(JSON.parse(server.received.find((r) => r.url === '/notify')!.body)).toEqual(alert);
      secondWorker.child.kill('SIGTERM');
      serve.child.kill('SIGTERM');
    } finally {
      await server.close();
    }
  }, 60_000);
});
