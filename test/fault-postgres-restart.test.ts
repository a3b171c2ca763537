import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';
import { eventually } from './helpers/loopback.js';
import { findPostgresBinaries, startOwnPostgres, type OwnPostgres } from './helpers/own-postgres.js';

/**
 * PostgreSQL stopped and started again under load, on a cluster this test starts itself: every
 * webhook is answered 200 or 503 (with Retry-After), /readyz says the database is unreachable
 * meanwhile, the process recovers by itself once the server is back, and every run answered
 * 200 is stored and runs to completion.
 */
const bin = findPostgresBinaries();
if (bin === null) console.warn('fault-postgres-restart: no PostgreSQL binaries under /usr/lib/postgresql; skipping');

let cluster: OwnPostgres | undefined;
let test: TestApp | undefined;
beforeAll(async () => {
  if (bin === null) return;
  cluster = await startOwnPostgres(bin);
}, 120_000);
afterAll(async () => {
  await test?.stop();
  cluster?.destroy();
}, 120_000);

describe.skipIf(bin === null)('PostgreSQL stopped and restarted under load', () => {
  it('answers only 200 or 503, loses nothing accepted, and recovers without a restart', async () => {
    const db = cluster!;
    test = await startTestApp({ env: { DATABASE_URL: db.url, HOOKFLOW_WORKER_CONCURRENCY: '4', HOOKFLOW_WRITE_TIMEOUT_MS: '3000', LOG_LEVEL: 'warn' } });
    const app = test;
    const { workspaceId, workflowId, webhookUrl } = await createWorkflow(app, {
      name: 'outage',
      trigger: { type: 'webhook', sharedKey: 'pg-restart-key-000001', bodyMemory: 'body' },
      steps: [{ id: 'echo', type: 'script', code: 'return memory.load("body").n;' }],
    });
    const accepted: string[] = [];
    const statuses: (number | string)[] = [];
    let sending = true;
    const senders = Array.from({ length: 8 }, async (_, sender) => {
      for (let n = 0; sending; n++) {
        try {
          const response = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n: sender * 100_000 + n }) });
          const body = (await response.json()) as { run_id?: string };
          statuses.push(response.status);
          if (response.status === 200) accepted.push(body.run_id!);
          else expect(response.headers.get('retry-after')).not.toBeNull();
        } catch (error) {
          statuses.push(`no answer: ${(error as Error).message}`);
        }
      }
    });

    await eventually(async () => (accepted.length >= 100 ? true : undefined), 60_000);
    db.stop();
    const refusedBefore = statuses.filter((status) => status === 503).length;
    await eventually(async () => (statuses.filter((status) => status === 503).length >= refusedBefore + 20 ? true : undefined), 60_000);
    const down = await fetch(`${app.url}/readyz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ storage: 'postgres', reason: expect.stringMatching(/^database unreachable/) });

    db.start();
    await eventually(async () => ((await fetch(`${app.url}/readyz`)).status === 200 ? true : undefined), 60_000);
    const acceptedAfter = accepted.length;
    await eventually(async () => (accepted.length >= acceptedAfter + 100 ? true : undefined), 60_000);
    sending = false;
    await Promise.all(senders);

    expect(statuses.filter((status) => status !== 200 && status !== 503)).toEqual([]);
    // Every accepted run is stored and finishes: nothing answered 200 was lost.
    const runsIn = async (status: string) => (await app.api('GET', `/api/workspaces/${workspaceId}/workflows/${workflowId}/runs?status=${status}&limit=1`)).body.items.length;
    await eventually(async () => ((await runsIn('queued')) + (await runsIn('running')) === 0 ? true : undefined), 120_000);
    const missing: string[] = [];
    const notSucceeded: string[] = [];
    for (const runId of accepted) {
      const run = await app.api('GET', `/api/workspaces/${workspaceId}/runs/${runId}`);
      if (run.status !== 200) missing.push(runId);
      else if (run.body.status !== 'succeeded') notSucceeded.push(`${runId}: ${run.body.status} ${run.body.error}`);
    }
    expect(missing).toEqual([]);
    expect(notSucceeded).toEqual([]);
  }, 300_000);
});
