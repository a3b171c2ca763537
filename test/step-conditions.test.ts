import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';
import { eventually, startLoopbackServer } from './helpers/loopback.js';
import { githubHeaders, pullRequestPayload, pushPayload } from './fixtures/github-payloads.js';

/** Step `if` conditions, skipped steps and continueOnError through the real server and worker. */
let test: TestApp;
let chat: Awaited<ReturnType<typeof startLoopbackServer>>;

const IS_PUSH = 'githubHeaders["x-github-event"] == "push"';
const IS_PR = 'githubHeaders["x-github-event"] == "pull_request" && githubPayload.action == "opened"';

beforeAll(async () => {
  // A chat API: /broken answers 400 (a permanent failure), everything else 200.
  chat = await startLoopbackServer((request, response) => {
    response.statusCode = request.url.startsWith('/broken') ? 400 : 200;
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ ok: response.statusCode === 200 }));
  });
  // The time backstop lifted: the crafted condition below must stop at the (deterministic) cost
  // limit, not at a wall-clock limit a loaded machine might reach first.
  test = await startTestApp({ env: { HOOKFLOW_WORKER_CONCURRENCY: '2', HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8', HOOKFLOW_RETRY_BASE_MS: '20', HOOKFLOW_EXPRESSION_TIMEOUT_MS: '30000' } });
});
afterAll(async () => {
  await test.stop();
  await chat.close();
});

async function deliver(url: string, headers: Record<string, string>, body: unknown): Promise<string> {
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
  const answer = (await response.json()) as { run_id: string };
  return answer.run_id;
}

async function finishedRun(workspaceId: string, runId: string) {
  return eventually(async () => {
    const run = await test.api('GET', `/api/workspaces/${workspaceId}/runs/${runId}`);
    return run.body.status === 'succeeded' || run.body.status === 'failed' ? run.body : undefined;
  });
}

const statuses = (run: { steps: { id: string; status: string }[] }) => Object.fromEntries(run.steps.map((step) => [step.id, step.status]));

describe('one GitHub workflow for push and pull_request events', () => {
  let workspaceId: string;
  let webhookUrl: string;

  beforeAll(async () => {
    ({ workspaceId, webhookUrl } = await createWorkflow(test, {
      name: 'GitHub events',
      trigger: { type: 'webhook', sharedKey: 'github-secret-key-2024', headerMemory: 'githubHeaders', bodyMemory: 'githubPayload' },
      steps: [
        { id: 'push-summary', type: 'script', if: IS_PUSH, output: 'pushSummary', code: 'const p = memory.load("githubPayload"); return p.commits.length + " commit(s) to " + p.ref;' },
        { id: 'push-notify', type: 'http', if: IS_PUSH, method: 'POST', url: `${chat.url}/push`, body: { text: '{{pushSummary}}', by: '{{githubPayload.pusher.name}}' } },
        { id: 'pr-summary', type: 'script', if: IS_PR, output: 'prSummary', code: 'const p = memory.load("githubPayload"); return "PR #" + p.number + ": " + p.pull_request.title;' },
        { id: 'pr-review', type: 'http', if: IS_PR, method: 'POST', url: `${chat.url}/pr`, body: { text: '{{prSummary}}', number: '{{githubPayload.number}}' } },
        // Non-critical: its failure is recorded, the run still succeeds. Also the last step, whose
        // result is stored with the run's completion.
        { id: 'audit', type: 'http', continueOnError: true, method: 'POST', url: `${chat.url}/broken`, body: { event: '{{githubHeaders.x-github-event}}' } },
      ],
    }));
  });

  it('a push runs only its push steps; the PR steps are skipped with the condition recorded', async () => {
    const runId = await deliver(webhookUrl, githubHeaders('push', 'delivery-push-1'), pushPayload);
    const run = await finishedRun(workspaceId, runId);
    expect(run.status).toBe('succeeded');
    expect(statuses(run)).toEqual({ 'push-summary': 'succeeded', 'push-notify': 'succeeded', 'pr-summary': 'skipped', 'pr-review': 'skipped', audit: 'failed' });
    const skipped = run.steps.find((step: { id: string }) => step.id === 'pr-summary');
    expect(skipped).toMatchObject({ output: null, error: null, condition: { expression: IS_PR, value: false } });
    expect(run.steps[0].condition).toEqual({ expression: IS_PUSH, value: true });
    // A skipped step writes no output into memory.
    expect(run.memory.pushSummary).toBe('1 commit(s) to refs/heads/main');
    expect(run.memory).not.toHaveProperty('prSummary');
    const sent = chat.received.filter((request) => request.url === '/push').map((request) => JSON.parse(request.body));
    expect(sent).toContainEqual({ text: '1 commit(s) to refs/heads/main', by: 'octocat' });
  });

  it('a pull request runs only its PR steps', async () => {
    const before = chat.received.filter((request) => request.url === '/push').length;
    const runId = await deliver(webhookUrl, githubHeaders('pull_request', 'delivery-pr-1'), pullRequestPayload);
    const run = await finishedRun(workspaceId, runId);
    expect(run.status).toBe('succeeded');
    expect(statuses(run)).toEqual({ 'push-summary': 'skipped', 'push-notify': 'skipped', 'pr-summary': 'succeeded', 'pr-review': 'succeeded', audit: 'failed' });
    expect(chat.received.filter((request) => request.url === '/pr').map((request) => JSON.parse(request.body))).toContainEqual({ text: 'PR #123: Fix critical bug', number: 123 });
    expect(chat.received.filter((request) => request.url === '/push')).toHaveLength(before);
  });

  it('continueOnError keeps the failed step and its error in the run, and does not retry it', async () => {
    const runId = await deliver(webhookUrl, githubHeaders('push', 'delivery-push-2'), pushPayload);
    const run = await finishedRun(workspaceId, runId);
    expect(run).toMatchObject({ status: 'succeeded', attempts: 1, error: null });
    const audit = run.steps.find((step: { id: string }) => step.id === 'audit');
    expect(audit).toMatchObject({ status: 'failed', continuedOnError: true });
    expect(audit.error).toContain('400');
  });

  it('stats count the skipped steps of the three runs', async () => {
    const { body: workflows } = await test.api('GET', `/api/workspaces/${workspaceId}/workflows`);
    const stats = await test.api('GET', `/api/workspaces/${workspaceId}/workflows/${String(workflows.items[0].id)}/stats`);
    expect(stats.body).toMatchObject({ runs: { total: 3, byStatus: { succeeded: 3 } }, steps: { succeeded: 6, skipped: 6, failed: 3 } });
  });
});

describe('conditions that go wrong', () => {
  it('an if that is not a boolean fails the step with a clear error', async () => {
    const { workspaceId, webhookUrl } = await createWorkflow(test, {
      name: 'not boolean', maxAttempts: 3,
      trigger: { type: 'webhook', bodyMemory: 'githubPayload' },
      steps: [{ id: 'check', type: 'script', if: 'githubPayload.number', code: 'return 1;' }],
    });
    const run = await finishedRun(workspaceId, await deliver(webhookUrl, { 'content-type': 'application/json' }, pullRequestPayload));
    expect(run.status).toBe('failed');
    expect(run.attempts).toBe(1);
    expect(run.steps[0]).toMatchObject({ id: 'check', status: 'failed' });
    expect(run.steps[0].error).toContain('HOOKFLOW_ERR_EXPRESSION: The condition ("if") must be a boolean, got double');
  });

  it('a crafted condition stops at its cost limit and fails the step, while the server keeps answering', async () => {
    const { workspaceId, webhookUrl } = await createWorkflow(test, {
      name: 'crafted',
      trigger: { type: 'webhook', bodyMemory: 'data' },
      steps: [{ id: 'heavy', type: 'script', if: 'data.items.all(a, data.items.all(b, data.items.exists(c, a + b == c)))', code: 'return 1;' }],
    });
    const items = Array.from({ length: 5000 }, (_, i) => i);
    const runIds = await Promise.all([1, 2, 3].map(() => deliver(webhookUrl, { 'content-type': 'application/json' }, { items })));
    let finished = false;
    const runs = Promise.all(runIds.map((runId) => finishedRun(workspaceId, runId))).finally(() => {
      finished = true;
    });
    // The event loop the worker evaluates on keeps answering while the runs are worked on.
    let answered = 0;
    do {
      const health = await fetch(`${test.url}/healthz`);
      expect(health.status).toBe(200);
      answered++;
    } while (!finished);
    expect(answered).toBeGreaterThan(0);
    for (const run of await runs) {
      expect(run.status).toBe('failed');
      expect(run.steps[0].error).toContain('cost limit');
    }
  });
});
