import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, TEST_ADMIN_TOKEN, type TestApp } from './helpers/app.js';
import { eventually, startLoopbackServer } from './helpers/loopback.js';
import { createTestSchema, describeWithPostgres, type TestSchema } from './helpers/postgres.js';

/**
 * Issue 9: one API answer or one definition nested 10,000 deep used to end the process (a
 * RangeError from the structured clone of the SQLite writer's hand-over, thrown from a timer)
 * or fail runs with a RangeError (PostgreSQL). Now each is refused where it enters with a clear
 * error, while another tenant's webhooks keep being accepted throughout.
 */
const DEEP = '['.repeat(10_000) + ']'.repeat(10_000);

let api: Awaited<ReturnType<typeof startLoopbackServer>>;
beforeAll(async () => {
  api = await startLoopbackServer((request, response) => {
    response.setHeader('content-type', 'application/json');
    if (request.url === '/deep-400') response.statusCode = 400;
    if (request.url === '/llm/chat/completions') {
      response.end(`{"choices":[{"message":{"role":"assistant","content":"fine"}}],"usage":${DEEP}}`);
      return;
    }
    response.end(DEEP);
  });
});
afterAll(() => api.close());

function faultSuite(start: () => Promise<TestApp>) {
  let test: TestApp;
  beforeAll(async () => {
    test = await start();
  });
  afterAll(() => test.stop());

  it('fails each hostile run with a clear error and keeps serving another workflow throughout', async () => {
    const trigger = { type: 'webhook', sharedKey: 'deep-values-key-0001', bodyMemory: 'body' };
    const hostile = [
      { step: { id: 'fetch', type: 'http', method: 'GET', url: `${api.url}/deep-200` }, error: /answered 200 with JSON nested deeper than 64 levels \(HOOKFLOW_MAX_JSON_DEPTH\)/ },
      { step: { id: 'fetch', type: 'http', method: 'GET', url: `${api.url}/deep-400` }, error: /answered 400 with JSON nested deeper than 64 levels/ },
      { step: { id: 'ask', type: 'llm', baseUrl: `${api.url}/llm`, model: 'm', prompt: 'hi' }, error: /LLM answer is nested deeper than 64 levels/ },
      { step: { id: 'build', type: 'script', code: 'let a = []; for (let i = 0; i < 10000; i++) a = [a]; return a;' }, error: /HOOKFLOW_ERR_SANDBOX/ },
      { step: { id: 'build', type: 'script', code: 'let a = []; for (let i = 0; i < 100; i++) a = [a]; memory.save("deep", a); return 1;' }, error: /saved "deep" is nested deeper than 64 levels/ },
    ];
    const steady = await createWorkflow(test, { name: 'steady', trigger, steps: [] });
    const targets: Awaited<ReturnType<typeof createWorkflow>>[] = [];
    for (const [index, { step }] of hostile.entries()) {
      const created = await createWorkflow(test, { name: `hostile ${index}`, trigger, steps: [step] });
      targets.push(created);
    }

    // Tenant B's traffic runs for the whole test; every one of its webhooks must be accepted.
    let keepSending = true;
    const steadyStatuses: number[] = [];
    const steadyTraffic = (async () => {
      while (keepSending) {
        try {
          const response = await fetch(steady.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":1}' });
          steadyStatuses.push(response.status);
          await response.arrayBuffer();
        } catch {
          steadyStatuses.push(0); // no answer at all: the server is gone
        }
      }
    })();

    const runIds = await Promise.all(targets.map(async (target) => {
      const response = await fetch(target.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(response.status).toBe(200);
      return ((await response.json()) as { run_id: string }).run_id;
    }));
    // Sent as text: JSON.stringify itself overflows on such a value.
    const refusedDefinition = await fetch(`${test.url}/api/workspaces/${steady.workspaceId}/workflows`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: `{"name":"deep body","trigger":${JSON.stringify(trigger)},"steps":[{"id":"send","type":"http","method":"POST","url":"${api.url}/x","body":${DEEP}}]}`,
    });
    const runs = await Promise.all(runIds.map((runId, index) => eventually(async () => {
      const run = await test.api('GET', `/api/workspaces/${targets[index]!.workspaceId}/runs/${runId}`);
      return run.body.status === 'failed' || run.body.status === 'succeeded' ? run.body : undefined;
    }, 60_000)));
    // Some of B's webhooks certainly went through while the hostile runs executed.
    await eventually(async () => (steadyStatuses.length >= 20 ? true : undefined));
    keepSending = false;
    await steadyTraffic;

    expect(refusedDefinition.status).toBe(400);
    expect(JSON.stringify(await refusedDefinition.json())).toMatch(/nested deeper than 64 levels/);
    for (const [index, run] of runs.entries()) {
      expect(run.status, `hostile run ${index}`).toBe('failed');
      expect(run.error, `hostile run ${index}`).toMatch(hostile[index]!.error);
      expect(run.error).not.toMatch(/Maximum call stack/);
    }
    expect(steadyStatuses.filter((status) => status !== 200)).toEqual([]);
    expect((await fetch(`${test.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${test.url}/readyz`)).status).toBe(200);
  }, 120_000);
}

const ENV = { HOOKFLOW_WORKER_CONCURRENCY: '4', HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8', HOOKFLOW_MAX_ATTEMPTS: '1', LOG_LEVEL: 'info' };

describe('10,000-deep values on SQLite', () => {
  faultSuite(() => startTestApp({ env: ENV }));
});

let schema: TestSchema | undefined;
afterAll(async () => {
  await schema?.drop();
});
await describeWithPostgres('10,000-deep values on PostgreSQL', () => {
  faultSuite(async () => {
    schema = await createTestSchema();
    return startTestApp({ env: { ...ENV, DATABASE_URL: schema.connectionString } });
  });
});
