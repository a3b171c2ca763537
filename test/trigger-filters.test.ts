import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';
import { eventually } from './helpers/loopback.js';
import { githubHeaders, pullRequestPayload, pushPayload } from './fixtures/github-payloads.js';

/** `trigger.filter`: the filtered answer, no run, a filtered event, and the metric. */
let test: TestApp;

beforeAll(async () => {
  // The time backstop lifted, so the crafted filter stops at the deterministic cost limit.
  test = await startTestApp({ env: { HOOKFLOW_WORKER_CONCURRENCY: '1', HOOKFLOW_EXPRESSION_TIMEOUT_MS: '30000' } });
});
afterAll(async () => {
  await test.stop();
});

const FILTERED = { status: 'accepted', workflow_started: false, filtered: true };

async function call(url: string, headers: Record<string, string>, body: unknown) {
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function filteredCount(): Promise<number> {
  const text = await (await fetch(`${test.url}/metrics`)).text();
  const line = text.split('\n').find((row) => row.startsWith('hookflow_webhooks_total{') && row.includes('outcome="filtered"'));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('only GitHub pushes', () => {
  let workspaceId: string;
  let workflowId: string;
  let webhookUrl: string;

  beforeAll(async () => {
    ({ workspaceId, workflowId, webhookUrl } = await createWorkflow(test, {
      name: 'pushes only',
      trigger: { type: 'webhook', headerMemory: 'githubHeaders', bodyMemory: 'githubPayload', filter: 'headers["x-github-event"] == "push"' },
      steps: [{ id: 'count', type: 'script', code: 'return memory.load("githubPayload").commits.length;', output: 'commits' }],
    }));
  });

  it('answers a pull request with exactly the filtered answer, starts no run, and stores the event as filtered', async () => {
    const metricBefore = await filteredCount();
    const pr = await call(webhookUrl, githubHeaders('pull_request', 'f-pr-1'), pullRequestPayload);
    expect(pr).toEqual({ status: 200, body: FILTERED });
    const push = await call(webhookUrl, githubHeaders('push', 'f-push-1'), pushPayload);
    expect(push.body).toMatchObject({ status: 'accepted', workflow_started: true });

    const runs = await test.api('GET', `/api/workspaces/${workspaceId}/workflows/${workflowId}/runs`);
    expect(runs.body.items.map((run: { id: string }) => run.id)).toEqual([push.body['run_id']]);

    const all = await test.api('GET', `/api/workspaces/${workspaceId}/workflows/${workflowId}/events`);
    expect(all.body.items).toHaveLength(2);
    const filtered = await test.api('GET', `/api/workspaces/${workspaceId}/workflows/${workflowId}/events?filtered=true`);
    expect(filtered.body.items).toHaveLength(1);
    expect(filtered.body.items[0]).toMatchObject({ filtered: true, headers: { 'x-github-event': 'pull_request' }, body: { number: 123 }, webhook: { filtered: true } });
    const passed = await test.api('GET', `/api/workspaces/${workspaceId}/workflows/${workflowId}/events?filtered=false`);
    expect(passed.body.items.map((event: { headers: Record<string, string> }) => event.headers['x-github-event'])).toEqual(['push']);

    expect(await filteredCount()).toBe(metricBefore + 1);
  });

  it('the test endpoint applies the filter as the live one: the filtered answer and a test event marked filtered', async () => {
    const { workspaceId: ws, workflowId: wf, webhookUrl: url } = await createWorkflow(test, {
      name: 'pushes only, tried first',
      trigger: { type: 'webhook', filter: 'headers["x-github-event"] == "push"' },
      steps: [{ id: 'count', type: 'script', code: 'return 1;' }],
    });
    const testWebhookUrl = url.replace('/api/webhook/', '/api/webhook-test/');
    const metricBefore = await filteredCount();
    expect(await call(testWebhookUrl, githubHeaders('pull_request', 't-pr-1'), pullRequestPayload)).toEqual({ status: 200, body: FILTERED });
    expect(await call(testWebhookUrl, githubHeaders('push', 't-push-1'), pushPayload)).toEqual({ status: 200, body: { status: 'accepted', workflow_started: false, test: true } });

    const filtered = await test.api('GET', `/api/workspaces/${ws}/workflows/${wf}/events?filtered=true`);
    expect(filtered.body.items).toHaveLength(1);
    expect(filtered.body.items[0]).toMatchObject({ test: true, filtered: true, headers: { 'x-github-event': 'pull_request' }, webhook: { test: true, filtered: true } });
    const passed = await test.api('GET', `/api/workspaces/${ws}/workflows/${wf}/events?filtered=false`);
    expect(passed.body.items.map((event: { test: boolean; headers: Record<string, string> }) => [event.test, event.headers['x-github-event']])).toEqual([[true, 'push']]);
    expect((await test.api('GET', `/api/workspaces/${ws}/workflows/${wf}/runs`)).body.items).toEqual([]);
    // Test calls stay out of the production count of filtered calls.
    expect(await filteredCount()).toBe(metricBefore);
  });

  it('a filtered call gets the filtered answer also where the trigger answers with a fixed response', async () => {
    const { webhookUrl: url } = await createWorkflow(test, {
      name: 'static answer',
      trigger: { type: 'webhook', filter: 'headers["x-github-event"] == "push"', response: { mode: 'static', status: 202, body: { ok: true } } },
      steps: [],
    });
    expect(await call(url, githubHeaders('pull_request', 'f-static-1'), pullRequestPayload)).toEqual({ status: 200, body: FILTERED });
    expect(await call(url, githubHeaders('push', 'f-static-2'), pushPayload)).toEqual({ status: 202, body: { ok: true } });
  });

  it('a filtered call leaves no idempotency key behind: the same delivery can be accepted after a fix', async () => {
    const first = await call(webhookUrl, githubHeaders('pull_request', 'f-pr-2'), pullRequestPayload);
    expect(first.body).toEqual(FILTERED);
    const again = await call(webhookUrl, githubHeaders('pull_request', 'f-pr-2'), pullRequestPayload);
    expect(again.body).toEqual(FILTERED);
  });
});

describe('only critical alerts (the monitoring seed)', () => {
  let workspaceId: string;
  let webhookUrl: string;

  beforeAll(async () => {
    ({ workspaceId, webhookUrl } = await createWorkflow(test, {
      name: 'critical alerts',
      trigger: { type: 'webhook', sharedKey: 'monitoring-alert-key', headerMemory: 'alertHeaders', bodyMemory: 'alertData', filter: 'has(body.severity) && body.severity == "critical"' },
      steps: [{ id: 'page', type: 'script', code: 'return "paging for " + memory.load("alertData").server;', output: 'paged' }],
    }));
  });

  const alert = { alert: 'high_cpu_usage', severity: 'warning', server: 'web-01', cpu_usage: 85.2, timestamp: '2024-03-15T10:30:00Z' };

  it('filters warnings and starts a run for a critical alert', async () => {
    const warning = await call(webhookUrl, { 'content-type': 'application/json' }, alert);
    expect(warning.body).toEqual(FILTERED);
    const critical = await call(webhookUrl, { 'content-type': 'application/json' }, { ...alert, severity: 'critical' });
    expect(critical.body).toMatchObject({ workflow_started: true });
    const run = await eventually(async () => {
      const detail = await test.api('GET', `/api/workspaces/${workspaceId}/runs/${String(critical.body['run_id'])}`);
      return detail.body.status === 'succeeded' ? detail.body : undefined;
    });
    expect(run.memory.paged).toBe('paging for web-01');
  });

  it('a filter that cannot be evaluated on a payload does not match, and says why in the event', async () => {
    const { workspaceId: ws, workflowId: wf, webhookUrl: url } = await createWorkflow(test, {
      name: 'strict filter',
      trigger: { type: 'webhook', filter: 'body.severity == "critical"' },
      steps: [],
    });
    expect((await call(url, { 'content-type': 'application/json' }, { alert: 'disk_full' })).body).toEqual(FILTERED);
    const events = await test.api('GET', `/api/workspaces/${ws}/workflows/${wf}/events?filtered=true`);
    expect(events.body.items[0].webhook.filterError).toContain('No such key: severity');
  });

  it('a crafted filter stops at its cost limit: the call is answered as filtered and /healthz keeps answering', async () => {
    const { webhookUrl: url, workspaceId: ws, workflowId: wf } = await createWorkflow(test, {
      name: 'crafted filter',
      trigger: { type: 'webhook', filter: 'body.items.all(a, body.items.all(b, body.items.exists(c, a + b == c)))' },
      steps: [],
    });
    const items = Array.from({ length: 5000 }, (_, i) => i);
    const answers = Promise.all([1, 2, 3].map(() => call(url, { 'content-type': 'application/json' }, { items })));
    const health = await fetch(`${test.url}/healthz`);
    expect(health.status).toBe(200);
    for (const answer of await answers) expect(answer).toEqual({ status: 200, body: FILTERED });
    const events = await test.api('GET', `/api/workspaces/${ws}/workflows/${wf}/events?filtered=true`);
    expect(events.body.items).toHaveLength(3);
    expect(events.body.items[0].webhook.filterError).toContain('cost limit');
  });
});
