import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';
import { eventually, startLoopbackServer } from './helpers/loopback.js';

/** Webhooks really start their workflows: the seed's example, retries, dead letter, replay. */
let test: TestApp;
let echo: Awaited<ReturnType<typeof startLoopbackServer>>;
let llm: Awaited<ReturnType<typeof startLoopbackServer>>;
let flaky: Awaited<ReturnType<typeof startLoopbackServer>>;
const LLM_KEY = 'sk-test-llm-key-that-must-stay-secret';

beforeAll(async () => {
  echo = await startLoopbackServer((request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ echoed: JSON.parse(request.body || 'null') }));
  });
  llm = await startLoopbackServer((request, response) => {
    const prompt = (JSON.parse(request.body) as { messages: { content: string }[] }).messages.at(-1)?.content;
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: `Summary of: ${prompt}` } }], usage: { prompt_tokens: 42, completion_tokens: 7, total_tokens: 49 } }));
  });
  // Fails twice, then succeeds — per distinct path.
  flaky = await startLoopbackServer((request, response) => {
    const attempts = flaky.received.filter((r) => r.url === request.url).length;
    if (request.url.startsWith('/always') || attempts <= 2) {
      response.statusCode = 503;
      response.end('try later');
      return;
    }
    response.end('ok');
  });
  test = await startTestApp({
    env: { HOOKFLOW_WORKER_CONCURRENCY: '2', HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8', HOOKFLOW_RETRY_BASE_MS: '20', HOOKFLOW_RETRY_MAX_MS: '100' },
  });
});
afterAll(async () => {
  await test.stop();
  await Promise.all([echo.close(), llm.close(), flaky.close()]);
});

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
  return (await response.json()) as { run_id: string };
}

async function finishedRun(workspaceId: string, runId: string) {
  return eventually(async () => {
    const run = await test.api('GET', `/api/workspaces/${workspaceId}/runs/${runId}`);
    return run.body.status === 'succeeded' || run.body.status === 'failed' ? run.body : undefined;
  });
}

describe('the seed example', () => {
  it('runs script, HTTP and LLM steps on the request, every value arriving as sent', async () => {
    const { workspaceId, webhookUrl } = await createWorkflow(test, {
      name: 'Order processing',
      trigger: { type: 'webhook', sharedKey: 'shop-integration-key', headerMemory: 'requestHeaders', bodyMemory: 'requestBody' },
      steps: [
        { id: 'extract', type: 'script', code: 'const o = memory.load("requestBody"); console.log("order", o.order_id); return o.customer.email;', output: 'customerEmail' },
        { id: 'notify', type: 'http', method: 'POST', url: `${echo.url}/orders`, headers: { 'x-customer': '{{customerEmail}}', 'x-customer-record': '{{requestBody.customer}}' }, body: '{{requestBody}}', output: 'apiResponse' },
        { id: 'summary', type: 'llm', baseUrl: llm.url, model: 'gpt-4o-mini', apiKey: LLM_KEY, prompt: 'Process the following order: {{requestBody}}', output: 'summary' },
      ],
    });
    const order = { event: 'order_created', order_id: '12345', total: 150.0, customer: { email: 'customer@example.com', name: 'Jöhn Doe' } };
    const { run_id } = await post(webhookUrl, order, { 'user-agent': 'MyApp/1.0' });
    const run = await finishedRun(workspaceId, run_id);

    expect(run.status).toBe('succeeded');
    expect(run.steps.map((s: { id: string; status: string }) => [s.id, s.status])).toEqual([['extract', 'succeeded'], ['notify', 'succeeded'], ['summary', 'succeeded']]);
    expect(run.memory.customerEmail).toBe('customer@example.com');
    expect(run.steps[0].logs).toEqual(['order 12345']);
    const sent = echo.received.at(-1)!;
    expect(JSON.parse(sent.body)).toEqual(order);
    expect(sent.headers['x-customer']).toBe('customer@example.com');
    // A header that is exactly one expression naming an object carries its JSON, as inside text.
    expect(JSON.parse(sent.headers['x-customer-record'] as string)).toEqual(order.customer);
    expect(sent.headers['content-type']).toBe('application/json');
    expect(run.memory.apiResponse).toMatchObject({ status: 200, body: { echoed: order } });
    const llmRequest = llm.received.at(-1)!;
    expect(llmRequest.url).toBe('/chat/completions');
    expect(llmRequest.headers.authorization).toBe(`Bearer ${LLM_KEY}`);
    expect(JSON.parse(llmRequest.body)).toMatchObject({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Process the following order: ${JSON.stringify(order)}` }] });
    expect(run.memory.summary).toBe(`Summary of: Process the following order: ${JSON.stringify(order)}`);
    expect(run.steps[2].usage).toMatchObject({ total_tokens: 49 });
    // The LLM key is write-only: not in the run, not in the workflow, not in logs.
    expect(JSON.stringify(run)).not.toContain(LLM_KEY);
    const workflows = await test.api('GET', `/api/workspaces/${workspaceId}/workflows`);
    expect(JSON.stringify(workflows.body)).not.toContain(LLM_KEY);
    expect(workflows.body.items[0].steps[2].apiKey).toEqual({ set: true });
    expect(test.logs()).not.toContain(LLM_KEY);
  });
});

describe('failures', () => {
  it('a template variable missing at run time fails the run at once, naming it', async () => {
    // A typo is refused at save time; a name only a script may save passes with a warning and
    // can still be missing when the step runs.
    const { workspaceId, webhookUrl } = await createWorkflow(test, {
      name: 'typo', maxAttempts: 5,
      trigger: { type: 'webhook', bodyMemory: 'requestBody' },
      steps: [
        { id: 'maybe', type: 'script', code: 'if (memory.load("requestBody").save) memory.save("extra", 1); return 1;' },
        { id: 'send', type: 'http', method: 'POST', url: `${echo.url}/x`, body: '{{extra}}' },
      ],
    });
    const run = await finishedRun(workspaceId, (await post(webhookUrl, { a: 1 })).run_id);
    expect(run.status).toBe('failed');
    expect(run.attempts).toBe(1);
    expect(run.error).toContain('extra');
    expect(run.steps[1]).toMatchObject({ id: 'send', status: 'failed' });
  });

  it('retries transient failures: fails twice, then succeeds on attempt 3', async () => {
    const { workspaceId, webhookUrl } = await createWorkflow(test, {
      name: 'flaky', maxAttempts: 5,
      trigger: { type: 'webhook' },
      steps: [{ id: 'call', type: 'http', method: 'POST', url: `${flaky.url}/sometimes-${Date.now()}`, body: 'hi' }],
    });
    const run = await finishedRun(workspaceId, (await post(webhookUrl, {})).run_id);
    expect(run.status).toBe('succeeded');
    expect(run.attempts).toBe(3);
  });

  it('dead-letters after maxAttempts, and replay starts a new run of the same event', async () => {
    const { workspaceId, workflowId, webhookUrl } = await createWorkflow(test, {
      name: 'down', maxAttempts: 3,
      trigger: { type: 'webhook', bodyMemory: 'body' },
      steps: [{ id: 'call', type: 'http', method: 'POST', url: `${flaky.url}/always`, body: '{{body}}' }],
    });
    const run = await finishedRun(workspaceId, (await post(webhookUrl, { n: 7 })).run_id);
    expect(run.status).toBe('failed');
    expect(run.attempts).toBe(3);
    expect(run.error).toContain('503');
    const failedList = await test.api('GET', `/api/workspaces/${workspaceId}/workflows/${workflowId}/runs?status=failed`);
    expect(failedList.body.items.map((r: { id: string }) => r.id)).toContain(run.id);

    // Fix the workflow, then replay the dead letter.
    const fixed = await test.api('PUT', `/api/workspaces/${workspaceId}/workflows/${workflowId}`, {
      name: 'down', maxAttempts: 3, trigger: { type: 'webhook', bodyMemory: 'body' },
      steps: [{ id: 'call', type: 'http', method: 'POST', url: `${echo.url}/fixed`, body: '{{body}}' }],
    });
    expect(fixed.status).toBe(200);
    const replay = await test.api('POST', `/api/workspaces/${workspaceId}/runs/${run.id}/replay`);
    expect(replay.status).toBe(201);
    expect(replay.body).toMatchObject({ status: 'queued', replayOf: run.id, eventId: run.eventId });
    const replayed = await finishedRun(workspaceId, replay.body.id);
    expect(replayed.status).toBe('succeeded');
    expect(JSON.parse(echo.received.at(-1)!.body)).toEqual({ n: 7 });
  });

  it('refuses a loopback call without the allowlist entry (SSRF), permanently', async () => {
    const strict = await startTestApp({ env: { HOOKFLOW_WORKER_CONCURRENCY: '1', HOOKFLOW_RETRY_BASE_MS: '20' } });
    try {
      const { workspaceId, webhookUrl } = await createWorkflow(strict, {
        name: 'ssrf', maxAttempts: 5, trigger: { type: 'webhook' },
        steps: [{ id: 'call', type: 'http', method: 'GET', url: `${echo.url}/internal` }],
      });
      const before = echo.received.length;
      const response = await fetch(webhookUrl, { method: 'POST', body: '{}' });
      const { run_id } = (await response.json()) as { run_id: string };
      const run = await eventually(async () => {
        const r = await strict.api('GET', `/api/workspaces/${workspaceId}/runs/${run_id}`);
        return r.body.status === 'failed' ? r.body : undefined;
      });
      expect(run.attempts).toBe(1);
      expect(run.error).toContain('EGRESS_REFUSED');
      expect(echo.received.length).toBe(before);
    } finally {
      await strict.stop();
    }
  });
});

describe('versions', () => {
  it('a run keeps the version it started with', async () => {
    const { workspaceId, workflowId, webhookUrl } = await createWorkflow(test, {
      name: 'v', trigger: { type: 'webhook' }, steps: [{ id: 's', type: 'script', code: 'return "v1";', output: 'out' }],
    });
    const first = await finishedRun(workspaceId, (await post(webhookUrl, {})).run_id);
    await test.api('PUT', `/api/workspaces/${workspaceId}/workflows/${workflowId}`, {
      name: 'v', trigger: { type: 'webhook' }, steps: [{ id: 's', type: 'script', code: 'return "v2";', output: 'out' }],
    });
    const second = await finishedRun(workspaceId, (await post(webhookUrl, {})).run_id);
    expect([first.workflowVersion, first.memory.out]).toEqual([1, 'v1']);
    expect([second.workflowVersion, second.memory.out]).toEqual([2, 'v2']);
  });
});

describe('memory names', () => {
  it('refuses trigger variables that would overwrite another starting variable, and __proto__ anywhere', async () => {
    expect((await test.api('POST', '/api/workspaces', { id: 'names', name: 'Names' })).status).toBe(201);
    const refused: Array<[Record<string, unknown>, string[]]> = [
      [{ type: 'webhook', bodyMemory: 'webhook' }, ['trigger.bodyMemory: "webhook" is reserved for the request\'s metadata']],
      [{ type: 'webhook', headerMemory: 'webhook' }, ['trigger.headerMemory: "webhook" is reserved for the request\'s metadata']],
      [{ type: 'webhook', headerMemory: 'request', bodyMemory: 'request' }, ['trigger.bodyMemory: must differ from headerMemory']],
      [{ type: 'webhook', bodyMemory: '__proto__' }, ['trigger.bodyMemory: is reserved']],
    ];
    for (const [trigger, details] of refused) {
      const answer = await test.api('POST', '/api/workspaces/names/workflows', { name: 'n', trigger });
      expect(answer.status).toBe(400);
      expect(answer.body.details).toStrictEqual(details);
    }
    const output = await test.api('POST', '/api/workspaces/names/workflows', {
      name: 'n', trigger: { type: 'webhook' }, steps: [{ id: 's', type: 'script', code: 'return 1', output: '__proto__' }],
    });
    expect(output.status).toBe(400);
    expect(output.body.details).toStrictEqual(['steps.0.output: is reserved']);
  });
});

describe('lists of an unknown workflow', () => {
  it('answer 404 like the workflow itself, not an empty list', async () => {
    const { workspaceId } = await createWorkflow(test, { name: 'known', trigger: { type: 'webhook' } });
    for (const path of [
      `/api/workspaces/${workspaceId}/workflows/nope/runs`,
      `/api/workspaces/${workspaceId}/workflows/nope/events`,
      `/api/workspaces/${workspaceId}/workflows/nope/events?rejected=true`,
      `/api/workspaces/${workspaceId}/workflows/nope/stats`,
      '/api/workspaces/nope/workflows/nope/runs',
    ]) {
      const answer = await test.api('GET', path);
      expect([path, answer.status, answer.body.error]).toEqual([path, 404, 'Not found']);
    }
  });
});
