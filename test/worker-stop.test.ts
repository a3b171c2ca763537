import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp } from './helpers/app.js';
import { eventually, startLoopbackServer } from './helpers/loopback.js';

/**
 * A graceful stop gives in-flight runs its grace period (10 s), then cancels them: a step
 * waiting on a slow HTTP answer is cut off and its run released unconsumed, so the next start
 * runs it again. It does not wait for the step's own timeout (up to 15 minutes).
 */
let server: Awaited<ReturnType<typeof startLoopbackServer>> | undefined;
let dataDir: string | undefined;
afterAll(async () => {
  await server?.close();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
});

describe('graceful stop', () => {
  it('cancels a step stuck on a slow answer after the grace period and releases its run', async () => {
    server = await startLoopbackServer(() => undefined); // never answers
    const first = await startTestApp({ keepDataDir: true, env: { HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8', HOOKFLOW_WORKER_CONCURRENCY: '1' } });
    dataDir = first.dataDir;
    const { workspaceId, webhookUrl } = await createWorkflow(first, {
      name: 'slow', maxAttempts: 1, trigger: { type: 'webhook' },
      steps: [{ id: 'charge', type: 'http', method: 'POST', url: `${server.url}/charge`, body: 'x', timeoutMs: 600_000 }],
    });
    const accepted = await fetch(webhookUrl, { method: 'POST', body: '{}' });
    const { run_id } = (await accepted.json()) as { run_id: string };
    await eventually(async () => (server!.received.length === 1 ? true : undefined));

    await first.stop();

    // Unconsumed: queued again with no attempt used, although maxAttempts is 1.
    const second = await startTestApp({ dataDir, keepDataDir: true, env: { HOOKFLOW_WORKER_CONCURRENCY: '0' } });
    try {
      const run = await second.api('GET', `/api/workspaces/${workspaceId}/runs/${run_id}`);
      expect([run.body.status, run.body.attempts]).toEqual(['queued', 0]);
    } finally {
      await second.stop();
    }
  }, 30_000);
});
