import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';
import { eventually, startLoopbackServer } from './helpers/loopback.js';

/**
 * Issue 9: with HOOKFLOW_MAX_PENDING_WRITES reached during a flood, the cap also refused the
 * workers' own completion writes; their leases lapsed and 32–48 runs per try called their API
 * twice. Worker writes now bypass the cap and commit ahead of ingests.
 */
const WEBHOOKS = 1500;
const SENDERS = 150;

let test: TestApp;
let api: Awaited<ReturnType<typeof startLoopbackServer>>;
const callsPerRun = new Map<string, number>();

beforeAll(async () => {
  api = await startLoopbackServer((request, response) => {
    const n = request.url.slice(1);
    callsPerRun.set(n, (callsPerRun.get(n) ?? 0) + 1);
    response.setHeader('content-type', 'application/json');
    response.end('{"ok":true}');
  });
  test = await startTestApp({
    env: {
      // Low enough that 150 senders keep the ingest queue at the cap (300 in the run).
      HOOKFLOW_MAX_PENDING_WRITES: '40',
      HOOKFLOW_WORKER_CONCURRENCY: '32',
      // Short leases: a completion write refused for a moment lets one lapse soon after.
      HOOKFLOW_LEASE_MS: '1000',
      HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8',
      LOG_LEVEL: 'warn',
    },
  });
});
afterAll(async () => {
  await test.stop();
  await api.close();
});

describe('the pending-write cap under a flood of HTTP-step runs', () => {
  it('refuses only ingests: every accepted run succeeds and calls its API exactly once', async () => {
    const { workspaceId, workflowId, webhookUrl } = await createWorkflow(test, {
      name: 'flood',
      trigger: { type: 'webhook', sharedKey: 'pending-cap-flood-key', bodyMemory: 'body' },
      steps: [{ id: 'call', type: 'http', method: 'POST', url: `${api.url}/{{body.n}}`, body: '{{body}}' }],
    });
    const accepted = new Map<string, string>();
    const statuses = new Map<number, number>();
    let next = 0;
    await Promise.all(Array.from({ length: SENDERS }, async () => {
      // Past WEBHOOKS only while the cap has not refused anything yet: the test is about it.
      for (let n = next++; n < WEBHOOKS || (!statuses.has(503) && n < 3 * WEBHOOKS); n = next++) {
        const response = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n: String(n) }) });
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        const body = (await response.json()) as { run_id?: string };
        if (response.status === 200) accepted.set(String(n), body.run_id!);
        else expect(response.headers.get('retry-after')).not.toBeNull();
      }
    }));
    expect([...statuses.keys()].filter((status) => status !== 200 && status !== 503)).toEqual([]);
    expect(statuses.get(503), 'the flood reached HOOKFLOW_MAX_PENDING_WRITES').toBeGreaterThan(0);
    expect(accepted.size).toBeGreaterThan(0);

    // Every accepted run finishes, and succeeds.
    const runsIn = async (status: string) => (await test.api('GET', `/api/workspaces/${workspaceId}/workflows/${workflowId}/runs?status=${status}&limit=1`)).body.items.length;
    await eventually(async () => ((await runsIn('queued')) + (await runsIn('running')) === 0 ? true : undefined), 120_000);
    const runs = await Promise.all([...accepted.values()].map((runId) => test.api('GET', `/api/workspaces/${workspaceId}/runs/${runId}`)));
    expect(runs.filter((run) => run.body.status !== 'succeeded').map((run) => [run.body.id, run.body.status, run.body.error])).toEqual([]);
    // The backlog drained, and the gauge admission control and operators read says so.
    const metrics = await (await fetch(`${test.url}/metrics`)).text();
    expect(metrics).toMatch(/^hookflow_pending_writes\{kind="queued"\} 0$/m);
    expect(metrics).toMatch(/^hookflow_pending_writes\{kind="urgent"\} \d+$/m);
    const calledTwice = [...accepted.keys()].filter((n) => (callsPerRun.get(n) ?? 0) !== 1);
    expect(calledTwice, `runs whose API was not called exactly once (503s: ${statuses.get(503) ?? 0})`).toEqual([]);
  }, 240_000);
});
