import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';
import { eventually, startLoopbackServer } from './helpers/loopback.js';

/**
 * Redo without repeating side effects: resume a failed run from its failed step, and the
 * Idempotency-Key every HTTP step sends (the same for every attempt of a step in a run, new for a
 * replay). Real server, real workers, loopback APIs that count what they receive.
 */
let test: TestApp;
let api: Awaited<ReturnType<typeof startLoopbackServer>>;
/** Paths of the loopback API that answer 503 until the test lets them through. */
const down = new Set<string>();

beforeAll(async () => {
  api = await startLoopbackServer((request, response) => {
    const path = request.url.split('?')[0] ?? '';
    const flakyCalls = api.received.filter((r) => r.url === request.url).length;
    if (down.has(path) || (path.startsWith('/flaky') && flakyCalls <= 2)) {
      response.statusCode = 503;
      response.end('down');
      return;
    }
    response.setHeader('content-type', 'application/json');
    response.end('{"ok":true}');
  });
  test = await startTestApp({ env: { HOOKFLOW_WORKER_CONCURRENCY: '2', HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8', HOOKFLOW_RETRY_BASE_MS: '20', HOOKFLOW_RETRY_MAX_MS: '100' } });
});
afterAll(async () => {
  await test.stop();
  await api.close();
});

async function start(webhookUrl: string, body: unknown = {}): Promise<string> {
  const response = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
  return ((await response.json()) as { run_id: string }).run_id;
}

async function finished(workspaceId: string, runId: string): Promise<any> {
  return eventually(async () => {
    const run = await test.api('GET', `/api/workspaces/${workspaceId}/runs/${runId}`);
    return run.body.status === 'succeeded' || run.body.status === 'failed' ? run.body : undefined;
  });
}

const callsTo = (path: string) => api.received.filter((r) => r.url.startsWith(path));

describe('resume', () => {
  it('resumes a failed run at its failed step, on the fixed latest version: the step before it is not called again', async () => {
    const definition = (notifyPath: string) => ({
      name: 'ship-and-notify', maxAttempts: 1,
      trigger: { type: 'webhook', bodyMemory: 'order' },
      steps: [
        { id: 'ship', type: 'http', method: 'POST', url: `${api.url}/ship-1`, body: '{{order}}', output: 'shipment' },
        { id: 'notify', type: 'http', method: 'POST', url: `${api.url}${notifyPath}`, body: { shipped: '{{shipment.body.ok}}' } },
      ],
    });
    down.add('/broken-notify');
    const { workspaceId, workflowId, webhookUrl, created } = await createWorkflow(test, definition('/broken-notify'));
    const runId = await start(webhookUrl, { id: 'A-1' });
    const failed = await finished(workspaceId, runId);
    expect(failed.status).toBe('failed');
    expect(callsTo('/ship-1')).toHaveLength(1);

    const fixed = await test.api('PUT', `/api/workspaces/${workspaceId}/workflows/${workflowId}`, { ...created, ...definition('/notify-1') });
    expect(fixed.status).toBe(200);
    const resumed = await test.api('POST', `/api/workspaces/${workspaceId}/runs/${runId}/resume`, { version: 'latest' });
    expect(resumed.status).toBe(200);
    expect(resumed.body).toMatchObject({ id: runId, status: 'queued', workflowVersion: 2 });
    const done = await finished(workspaceId, runId);
    expect(done.status).toBe('succeeded');
    expect(done.attempts).toBe(2);
    expect(callsTo('/ship-1')).toHaveLength(1);
    expect(callsTo('/notify-1')).toHaveLength(1);
    expect(JSON.parse(callsTo('/notify-1')[0]!.body)).toStrictEqual({ shipped: true });
    const notify = done.steps.find((step: { id: string }) => step.id === 'notify');
    expect(notify.attempts.map((a: { attempt: number; status: string }) => [a.attempt, a.status])).toStrictEqual([[1, 'failed'], [2, 'succeeded']]);
    expect(notify.attempts[0].error).toContain('503');
    const ship = done.steps.find((step: { id: string }) => step.id === 'ship');
    expect(ship.attempts.map((a: { attempt: number }) => a.attempt)).toStrictEqual([1]);
  });

  it('resumes on the version the run started with by default (the downstream came back)', async () => {
    down.add('/notify-2');
    const { workspaceId, webhookUrl } = await createWorkflow(test, {
      name: 'comes-back', maxAttempts: 1, trigger: { type: 'webhook' },
      steps: [
        { id: 'ship', type: 'http', method: 'POST', url: `${api.url}/ship-2`, body: '{}' },
        { id: 'notify', type: 'http', method: 'POST', url: `${api.url}/notify-2`, body: '{}' },
      ],
    });
    const runId = await start(webhookUrl);
    expect((await finished(workspaceId, runId)).status).toBe('failed');
    down.delete('/notify-2');
    const resumed = await test.api('POST', `/api/workspaces/${workspaceId}/runs/${runId}/resume`);
    expect([resumed.status, resumed.body.workflowVersion]).toStrictEqual([200, 1]);
    expect((await finished(workspaceId, runId)).status).toBe('succeeded');
    expect(callsTo('/ship-2')).toHaveLength(1);
  });

  it('only a failed run can be resumed (409); an unknown one is a 404', async () => {
    const { workspaceId, webhookUrl } = await createWorkflow(test, { name: 'fine', trigger: { type: 'webhook' }, steps: [{ id: 's', type: 'script', code: 'return 1;' }] });
    const runId = await start(webhookUrl);
    expect((await finished(workspaceId, runId)).status).toBe('succeeded');
    const again = await test.api('POST', `/api/workspaces/${workspaceId}/runs/${runId}/resume`);
    expect(again.status).toBe(409);
    expect((await test.api('POST', `/api/workspaces/${workspaceId}/runs/run_does_not_exist/resume`)).status).toBe(404);
    expect((await test.api('POST', `/api/workspaces/${workspaceId}/runs/${runId}/resume`, { version: 'newest' })).status).toBe(400);
  });
});

describe('outgoing Idempotency-Key', () => {
  it('is the same for every retry of a step in a run, and new for a replay', async () => {
    const { workspaceId, webhookUrl } = await createWorkflow(test, {
      name: 'retried', maxAttempts: 5, trigger: { type: 'webhook' },
      steps: [{ id: 'charge', type: 'http', method: 'POST', url: `${api.url}/flaky-charge`, body: '{}' }],
    });
    const runId = await start(webhookUrl);
    const run = await finished(workspaceId, runId);
    expect([run.status, run.attempts]).toStrictEqual(['succeeded', 3]);
    const keys = callsTo('/flaky-charge').map((r) => r.headers['idempotency-key']);
    expect(keys).toStrictEqual([`${runId}.charge`, `${runId}.charge`, `${runId}.charge`]);
    const replay = await test.api('POST', `/api/workspaces/${workspaceId}/runs/${runId}/replay`);
    expect(replay.status).toBe(201);
    await finished(workspaceId, replay.body.id);
    expect(callsTo('/flaky-charge').at(-1)!.headers['idempotency-key']).toBe(`${replay.body.id}.charge`);
  });

  it('takes another header name, or none; a header the step sets itself wins', async () => {
    const { workspaceId, webhookUrl } = await createWorkflow(test, {
      name: 'named', trigger: { type: 'webhook' },
      steps: [
        { id: 'a', type: 'http', method: 'POST', url: `${api.url}/named-a`, body: '{}', idempotencyHeader: 'X-Request-Id' },
        { id: 'b', type: 'http', method: 'POST', url: `${api.url}/named-b`, body: '{}', idempotencyHeader: false },
        { id: 'c', type: 'http', method: 'POST', url: `${api.url}/named-c`, body: '{}', headers: { 'Idempotency-Key': 'mine' } },
      ],
    });
    const runId = await start(webhookUrl);
    expect((await finished(workspaceId, runId)).status).toBe('succeeded');
    expect(callsTo('/named-a')[0]!.headers['x-request-id']).toBe(`${runId}.a`);
    expect(callsTo('/named-a')[0]!.headers['idempotency-key']).toBeUndefined();
    expect(callsTo('/named-b')[0]!.headers['idempotency-key']).toBeUndefined();
    expect(callsTo('/named-c')[0]!.headers['idempotency-key']).toBe('mine');
  });
});

describe('bulk resume and replay', () => {
  async function failedRuns(count: number, path: string) {
    down.add(path);
    const { workspaceId, workflowId, webhookUrl } = await createWorkflow(test, {
      name: `bulk${path.replaceAll('/', '-')}`, maxAttempts: 1, trigger: { type: 'webhook' },
      steps: [{ id: 'call', type: 'http', method: 'POST', url: `${api.url}${path}`, body: '{}' }],
    });
    const runIds: string[] = [];
    for (let i = 0; i < count; i++) runIds.push(await start(webhookUrl));
    for (const runId of runIds) expect((await finished(workspaceId, runId)).status).toBe('failed');
    return { workspaceId, workflowId, runIds };
  }

  async function jobDone(workspaceId: string, jobId: string, seen: number[] = []): Promise<any> {
    return eventually(async () => {
      const job = await test.api('GET', `/api/workspaces/${workspaceId}/jobs/${jobId}`);
      seen.push(job.body.done);
      return job.body.status === 'running' ? undefined : job.body;
    }, 60_000);
  }

  it('resumes every failed run of a workflow as a paced background job whose progress shows while it runs', async () => {
    const { workspaceId, workflowId, runIds } = await failedRuns(30, '/bulk-down');
    down.delete('/bulk-down');
    const began = Date.now();
    const created = await test.api('POST', `/api/workspaces/${workspaceId}/workflows/${workflowId}/runs/resume`, { ratePerSecond: 20 });
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({ kind: 'resume', status: 'running', total: 30, done: 0, failed: 0 });
    const seen: number[] = [];
    const job = await jobDone(workspaceId, created.body.id, seen);
    // Paced: 30 runs at 20 per second cannot be queued in less than (30 - 1) / 20 s.
    expect(Date.now() - began).toBeGreaterThanOrEqual(1450);
    expect(job).toMatchObject({ status: 'succeeded', total: 30, done: 30, failed: 0 });
    expect(seen.some((done) => done > 0 && done < 30)).toBe(true);
    for (const runId of runIds) expect((await finished(workspaceId, runId)).status).toBe('succeeded');
    const listed = await test.api('GET', `/api/workspaces/${workspaceId}/jobs`);
    expect(listed.body.items.map((j: { id: string }) => j.id)).toContain(created.body.id);
  });

  it('replays failed runs once: a second bulk replay finds none left to replay', async () => {
    const { workspaceId, workflowId } = await failedRuns(5, '/bulk-replay');
    down.delete('/bulk-replay');
    const first = await test.api('POST', `/api/workspaces/${workspaceId}/workflows/${workflowId}/runs/replay`, { ratePerSecond: 50 });
    expect(first.body.total).toBe(5);
    expect((await jobDone(workspaceId, first.body.id)).done).toBe(5);
    const second = await test.api('POST', `/api/workspaces/${workspaceId}/workflows/${workflowId}/runs/replay`, {});
    expect(second.body).toMatchObject({ status: 'succeeded', total: 0 });
    const runs = await test.api('GET', `/api/workspaces/${workspaceId}/workflows/${workflowId}/runs?limit=100`);
    expect(runs.body.items.filter((r: { replayOf: string | null }) => r.replayOf !== null)).toHaveLength(5);
  });

  it('a cancelled job stops where it is', async () => {
    const { workspaceId, workflowId } = await failedRuns(6, '/bulk-cancel');
    const created = await test.api('POST', `/api/workspaces/${workspaceId}/workflows/${workflowId}/runs/resume`, { ratePerSecond: 1 });
    await eventually(async () => ((await test.api('GET', `/api/workspaces/${workspaceId}/jobs/${created.body.id}`)).body.done >= 1 ? true : undefined));
    const cancelled = await test.api('POST', `/api/workspaces/${workspaceId}/jobs/${created.body.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    const doneAtCancel = cancelled.body.done as number;
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const later = await test.api('GET', `/api/workspaces/${workspaceId}/jobs/${created.body.id}`);
    expect(later.body).toMatchObject({ status: 'cancelled', done: doneAtCancel });
    expect(doneAtCancel).toBeLessThan(6);
    expect((await test.api('POST', `/api/workspaces/${workspaceId}/jobs/${created.body.id}/cancel`)).status).toBe(409);
  });

  it('deleting the workflow during a bulk resume takes the job and the runs with it', async () => {
    const { workspaceId, workflowId, runIds } = await failedRuns(3, '/bulk-deleted');
    const created = await test.api('POST', `/api/workspaces/${workspaceId}/workflows/${workflowId}/runs/resume`, { ratePerSecond: 1, version: 'original' });
    expect(created.status).toBe(202);
    await eventually(async () => ((await test.api('GET', `/api/workspaces/${workspaceId}/jobs/${created.body.id}`)).body.done >= 1 ? true : undefined));
    expect((await test.api('DELETE', `/api/workspaces/${workspaceId}/workflows/${workflowId}`)).status).toBe(204);
    expect((await test.api('GET', `/api/workspaces/${workspaceId}/jobs/${created.body.id}`)).status).toBe(404);
    for (const runId of runIds) expect((await test.api('GET', `/api/workspaces/${workspaceId}/runs/${runId}`)).status).toBe(404);
    expect((await test.api('GET', `/api/workspaces/${workspaceId}/jobs`)).body.items).toEqual([]);
  });
});

describe('LLM budgets', () => {
  it('stops the LLM step that would go past the day\'s tokens with a clear permanent error; stats show usage and what remains', async () => {
    const llm = await startLoopbackServer((_request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: 'summary' } }], usage: { prompt_tokens: 30, completion_tokens: 10, total_tokens: 40 } }));
    });
    try {
      const { workspaceId, workflowId, webhookUrl } = await createWorkflow(test, {
        name: 'budgeted', maxAttempts: 1, llmBudget: { tokensPerDay: 100 },
        trigger: { type: 'webhook', bodyMemory: 'alert' },
        steps: [{ id: 'summarise', type: 'llm', baseUrl: llm.url, model: 'test-model', prompt: 'Summarise {{alert}}' }],
      });
      const outcomes: string[] = [];
      for (let i = 0; i < 4; i++) outcomes.push((await finished(workspaceId, await start(webhookUrl, { n: i }))).status);
      // 40, 80, then 120 (the third call starts below the budget), then refused before calling.
      expect(outcomes).toStrictEqual(['succeeded', 'succeeded', 'succeeded', 'failed']);
      expect(llm.received).toHaveLength(3);
      const runs = await test.api('GET', `/api/workspaces/${workspaceId}/workflows/${workflowId}/runs?status=failed`);
      expect(runs.body.items[0].error).toBe('HOOKFLOW_ERR_BUDGET_EXCEEDED: LLM budget used up: 120 of 100 tokens today (UTC); it resets at 00:00 UTC');
      const stats = await test.api('GET', `/api/workspaces/${workspaceId}/workflows/${workflowId}/stats`);
      expect(stats.body.llm).toStrictEqual({ tokensToday: 120, tokensPerDay: 100, remainingToday: 0 });
    } finally {
      await llm.close();
    }
  });

  it('a workspace budget caps all its workflows\' LLM steps together', async () => {
    const llm = await startLoopbackServer((_request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: 'ok' } }], usage: { total_tokens: 40 } }));
    });
    try {
      const definition = (name: string) => ({
        name, maxAttempts: 1, trigger: { type: 'webhook', bodyMemory: 'alert' },
        steps: [{ id: 'summarise', type: 'llm', baseUrl: llm.url, model: 'test-model', prompt: 'Summarise {{alert}}' }],
      });
      const first = await createWorkflow(test, definition('first'));
      const second = await test.api('POST', `/api/workspaces/${first.workspaceId}/workflows`, definition('second'));
      expect(second.status).toBe(201);
      expect((await test.api('PUT', `/api/workspaces/${first.workspaceId}/llm-budget`, { tokensPerDay: 0 })).status).toBe(400);
      const set = await test.api('PUT', `/api/workspaces/${first.workspaceId}/llm-budget`, { tokensPerDay: 100 });
      expect(set.body).toStrictEqual({ workspaceId: first.workspaceId, tokensToday: 0, tokensPerDay: 100, remainingToday: 100 });

      const outcomes: string[] = [];
      for (const url of [first.webhookUrl, second.body.webhookUrl, first.webhookUrl, second.body.webhookUrl]) outcomes.push((await finished(first.workspaceId, await start(url))).status);
      // 40 + 40 + 40 (the third starts at 80, below the budget), then the fourth is refused before calling.
      expect(outcomes).toStrictEqual(['succeeded', 'succeeded', 'succeeded', 'failed']);
      expect(llm.received).toHaveLength(3);
      const failed = await test.api('GET', `/api/workspaces/${first.workspaceId}/workflows/${second.body.id}/runs?status=failed`);
      expect(failed.body.items[0].error).toBe('HOOKFLOW_ERR_BUDGET_EXCEEDED: Workspace LLM budget used up: 120 of 100 tokens today (UTC); it resets at 00:00 UTC');
      const stats = await test.api('GET', `/api/workspaces/${first.workspaceId}/stats`);
      expect(stats.body.llm).toStrictEqual({ tokensToday: 120, tokensPerDay: 100, remainingToday: 0 });

      // Removed, the workspace no longer holds its workflows back.
      expect((await test.api('PUT', `/api/workspaces/${first.workspaceId}/llm-budget`, { tokensPerDay: null })).body.tokensPerDay).toBeNull();
      expect((await finished(first.workspaceId, await start(first.webhookUrl))).status).toBe('succeeded');
    } finally {
      await llm.close();
    }
  });
});
