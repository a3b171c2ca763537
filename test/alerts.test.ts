import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';
import { alertStatuses, createChannel, createRule, verifiedNotification } from './helpers/alerts.js';
import { eventually, startLoopbackServer } from './helpers/loopback.js';
import { waitForRun } from './helpers/runs.js';

/**
 * Built-in alerts on SQLite, through the real server: every rule kind fires from real traffic
 * and notifies a loopback receiver once per state change, signed (checked with the
 * `standardwebhooks` package), and resolves. Time moves through the injected clock.
 */
let now = Date.now();
const clock = () => now;
let receiver: Awaited<ReturnType<typeof startLoopbackServer>>;
let answerStatus = 200;
const apps: TestApp[] = [];

const base = { HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8', HOOKFLOW_ALERTS_INTERVAL_MS: '3600000', HOOKFLOW_STATS_FLUSH_MS: '100' };

beforeAll(async () => {
  receiver = await startLoopbackServer((_request, response) => {
    response.statusCode = answerStatus;
    response.end();
  });
});
afterAll(async () => {
  for (const app of apps) await app.stop();
  await receiver.close();
});

async function start(env: Record<string, string> = {}): Promise<TestApp> {
  const app = await startTestApp({ clock, env: { ...base, ...env } });
  apps.push(app);
  return app;
}

/** Notifications received since `from`, verified, as [status, rule id]. */
function notificationsSince(from: number, secret: string): [unknown, unknown][] {
  return receiver.received.slice(from).map((request) => {
    const body = verifiedNotification(request, secret);
    return [body.metadata.event_payload['status'], body.metadata.event_payload['rule_id']];
  });
}

async function call(url: string, headers: Record<string, string> = {}): Promise<number> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{}' });
  await response.arrayBuffer();
  return response.status;
}

describe('run failures and dead letters', () => {
  it('fire once when runs dead-letter, notify signed, and resolve when the window has passed', async () => {
    const app = await start({ HOOKFLOW_WORKER_CONCURRENCY: '1' });
    const { workspaceId, workflowId, webhookUrl } = await createWorkflow(app, {
      name: 'boom', maxAttempts: 1, trigger: { type: 'webhook' },
      steps: [{ id: 'fail', type: 'script', code: 'throw new Error("boom")' }],
    });
    const channel = await createChannel(app, workspaceId, `${receiver.url}/alerts`);
    const deadLetters = await createRule(app, workspaceId, { kind: 'dead_letters', workflowId, params: { windowMinutes: 10, threshold: 2 }, channelIds: [channel.id] });
    const failureRate = await createRule(app, workspaceId, { kind: 'run_failure_rate', params: { windowMinutes: 10, threshold: 0.5, minRuns: 2 }, channelIds: [channel.id] });
    const from = receiver.received.length;

    expect((await app.app.alerts.pass()).changes).toBe(0);
    const first = (await fetch(webhookUrl, { method: 'POST', body: '{}' }).then((r) => r.json())) as { run_id: string };
    expect((await waitForRun(app, workspaceId, first.run_id)).status).toBe('failed');
    // One dead letter is under both thresholds (2 dead letters; at least 2 runs).
    expect((await app.app.alerts.pass()).changes).toBe(0);
    const second = (await fetch(webhookUrl, { method: 'POST', body: '{}' }).then((r) => r.json())) as { run_id: string };
    expect((await waitForRun(app, workspaceId, second.run_id)).status).toBe('failed');

    expect((await app.app.alerts.pass()).changes).toBe(2);
    expect(await alertStatuses(app, workspaceId)).toEqual({ [deadLetters]: 'firing', [failureRate]: 'firing' });
    // Still failing: no second notification.
    expect((await app.app.alerts.pass()).changes).toBe(0);
    expect(notificationsSince(from, channel.secret).sort()).toEqual([['firing', deadLetters], ['firing', failureRate]].sort());
    const firing = verifiedNotification(receiver.received[from] as never, channel.secret);
    expect(firing.text).toContain('FIRING');
    expect(firing.blocks.length).toBeGreaterThan(0);

    now += 11 * 60_000;
    expect((await app.app.alerts.pass()).changes).toBe(2);
    expect((await app.app.alerts.pass()).changes).toBe(0);
    expect(notificationsSince(from, channel.secret).sort()).toEqual([['firing', deadLetters], ['firing', failureRate], ['resolved', deadLetters], ['resolved', failureRate]].sort());
    expect(await alertStatuses(app, workspaceId)).toEqual({ [deadLetters]: 'ok', [failureRate]: 'ok' });

    const history = await app.api('GET', `/api/workspaces/${workspaceId}/alerts/history?ruleId=${deadLetters}`);
    expect(history.body.items.map((entry: { status: string }) => entry.status)).toEqual(['resolved', 'firing']);
    expect(history.body.items[1]).toMatchObject({ value: 2, deliveries: [{ channelId: channel.id, status: 'delivered', attempts: 1, lastStatus: 200 }] });
  });
});

describe('the evaluator runs by itself', () => {
  it('every HOOKFLOW_ALERTS_INTERVAL_MS, with the node', async () => {
    const app = await start({ HOOKFLOW_ALERTS_INTERVAL_MS: '100' });
    const { workspaceId, webhookUrl } = await createWorkflow(app, { name: 'lag', trigger: { type: 'webhook' } });
    const channel = await createChannel(app, workspaceId, `${receiver.url}/interval`);
    const rule = await createRule(app, workspaceId, { kind: 'queue_lag', params: { thresholdSeconds: 1 }, channelIds: [channel.id] });
    expect(await call(webhookUrl)).toBe(200);
    now += 2_000;
    await eventually(async () => (receiver.received.some((r) => r.url === '/interval') ? true : undefined));
    const request = receiver.received.find((r) => r.url === '/interval');
    expect(verifiedNotification(request as never, channel.secret).metadata.event_payload).toMatchObject({ status: 'firing', rule_id: rule });
    await app.stop();
    apps.splice(apps.indexOf(app), 1);
  });
});

describe('webhook traffic rules (no workers)', () => {
  let app: TestApp;
  let workspaceId: string;
  let channel: { id: string; secret: string };
  beforeAll(async () => {
    app = await start();
    workspaceId = `ws-alerts-${Date.now()}`;
    await app.api('POST', '/api/workspaces', { id: workspaceId, name: 'alerts' });
    channel = await createChannel(app, workspaceId, `${receiver.url}/hook`);
  });

  /** Adds a workflow to the shared workspace. */
  async function addWorkflow(definition: Record<string, unknown>): Promise<{ workflowId: string; webhookUrl: string }> {
    const answer = await app.api('POST', `/api/workspaces/${workspaceId}/workflows`, definition);
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    return { workflowId: answer.body.id, webhookUrl: answer.body.webhookUrl };
  }

  /** Waits until the stored stats hold `n` calls of the workflow (the node flushes every 100 ms). */
  async function statsHold(workflowId: string, n: number): Promise<void> {
    for (let tries = 0; tries < 400; tries++) {
      const stats = await app.api('GET', `/api/workspaces/${workspaceId}/workflows/${workflowId}/stats?windowSeconds=3600`);
      if (stats.body.webhooks?.total === n) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`stats never reached ${n} calls`);
  }

  it('invalid keys or signatures: a burst fires, and resolves once the window has passed', async () => {
    const { workflowId, webhookUrl } = await addWorkflow({ id: 'auth', name: 'auth', trigger: { type: 'webhook', sharedKey: 'right-key-0123456789' } });
    const rule = await createRule(app, workspaceId, { kind: 'invalid_auth', workflowId, params: { windowMinutes: 5, threshold: 3 }, channelIds: [channel.id] });
    const from = receiver.received.length;
    const url = webhookUrl.split('?')[0] as string;
    expect([await call(url, { 'x-webhook-key': 'wrong-key-000000000' }), await call(url), await call(url, { 'x-webhook-key': 'right-key-0123456789' })]).toEqual([401, 401, 200]);
    await statsHold(workflowId, 3);
    expect((await app.app.alerts.pass()).changes).toBe(0);
    expect(await call(url, { 'x-webhook-key': 'another-wrong-key-00' })).toBe(401);
    await statsHold(workflowId, 4);
    expect((await app.app.alerts.pass()).changes).toBe(1);
    expect((await app.app.alerts.pass()).changes).toBe(0);
    now += 7 * 60_000;
    expect((await app.app.alerts.pass()).changes).toBe(1);
    expect(notificationsSince(from, channel.secret)).toEqual([['firing', rule], ['resolved', rule]]);
  });

  it('rate-limit bursts fire and resolve', async () => {
    const { workflowId, webhookUrl } = await addWorkflow({ id: 'limited', name: 'limited', trigger: { type: 'webhook', rateLimit: { perMinute: 1 } } });
    const rule = await createRule(app, workspaceId, { kind: 'rate_limited', params: { windowMinutes: 5, threshold: 2 }, channelIds: [channel.id] });
    const from = receiver.received.length;
    expect([await call(webhookUrl), await call(webhookUrl), await call(webhookUrl)]).toEqual([200, 429, 429]);
    await statsHold(workflowId, 3);
    expect((await app.app.alerts.pass()).changes).toBe(1);
    now += 7 * 60_000;
    expect((await app.app.alerts.pass()).changes).toBe(1);
    expect(notificationsSince(from, channel.secret)).toEqual([['firing', rule], ['resolved', rule]]);
  });

  it('queue lag fires when the oldest due run waits too long, and resolves once it is taken', async () => {
    const { workflowId, webhookUrl } = await addWorkflow({ id: 'lagging', name: 'lagging', trigger: { type: 'webhook' } });
    const rule = await createRule(app, workspaceId, { kind: 'queue_lag', workflowId, params: { thresholdSeconds: 60 }, channelIds: [channel.id] });
    const from = receiver.received.length;
    expect(await call(webhookUrl)).toBe(200);
    now += 59_000;
    expect((await app.app.alerts.pass()).changes).toBe(0);
    now += 1_000;
    expect((await app.app.alerts.pass()).changes).toBe(1);
    // A worker (this node runs none) takes the run: the store's own claim, as a worker does it.
    const claimed = await app.app.store.claimRuns({ workerId: 'test-worker', limit: 10, leaseMs: 60_000, now });
    expect(claimed.map((c) => c.run.workflowId)).toContain(workflowId);
    expect((await app.app.alerts.pass()).changes).toBe(1);
    expect(notificationsSince(from, channel.secret)).toEqual([['firing', rule], ['resolved', rule]]);
  });

  it('silence: a workflow called every second fires within the configured window; one never called does not', async () => {
    const steady = await addWorkflow({ id: 'steady', name: 'steady', trigger: { type: 'webhook' } });
    const quiet = await addWorkflow({ id: 'quiet', name: 'quiet', trigger: { type: 'webhook' } });
    const configured = await createRule(app, workspaceId, { kind: 'silence', workflowId: steady.workflowId, params: { silenceMinutes: 3 }, channelIds: [channel.id] });
    const learned = await createRule(app, workspaceId, { kind: 'silence', workflowId: steady.workflowId, params: { minSilenceMinutes: 5 }, channelIds: [channel.id] });
    const never = await createRule(app, workspaceId, { kind: 'silence', workflowId: quiet.workflowId, params: { silenceMinutes: 1 }, channelIds: [channel.id] });
    const from = receiver.received.length;
    for (let i = 0; i < 15; i++) {
      now += 1_000;
      expect(await call(steady.webhookUrl)).toBe(200);
    }
    const last = now;
    expect((await app.app.alerts.pass()).changes).toBe(0);
    now = last + 3 * 60_000 - 1;
    expect((await app.app.alerts.pass()).changes).toBe(0);
    now = last + 3 * 60_000;
    expect((await app.app.alerts.pass()).changes).toBe(1);
    // The learned expectation: 3 × the longest gap (1 s), but at least minSilenceMinutes.
    now = last + 5 * 60_000;
    expect((await app.app.alerts.pass()).changes).toBe(1);
    now = last + 6 * 3_600_000;
    expect((await app.app.alerts.pass()).changes).toBe(0);
    const statuses = await alertStatuses(app, workspaceId);
    expect([statuses[configured], statuses[learned], statuses[never]]).toEqual(['firing', 'firing', 'ok']);

    expect(await call(steady.webhookUrl)).toBe(200);
    expect((await app.app.alerts.pass()).changes).toBe(2);
    const notified = notificationsSince(from, channel.secret);
    expect(notified.slice(0, 2)).toEqual([['firing', configured], ['firing', learned]]);
    // Both resolve in the same pass: their order is not fixed.
    expect(notified.slice(2).sort()).toEqual([['resolved', configured], ['resolved', learned]].sort());
    const body = verifiedNotification(receiver.received[from] as never, channel.secret);
    expect(body.metadata.event_payload).toMatchObject({ status: 'firing', kind: 'silence', workspace_id: workspaceId, workflow_id: 'steady' });
  });

  it('silence: a workflow switched off is expected to go quiet', async () => {
    const paused = await addWorkflow({ id: 'paused', name: 'paused', trigger: { type: 'webhook' } });
    const rule = await createRule(app, workspaceId, { kind: 'silence', workflowId: 'paused', params: { silenceMinutes: 1, minEvents: 3 }, channelIds: [channel.id] });
    for (let i = 0; i < 3; i++) expect(await call(paused.webhookUrl)).toBe(200);
    expect((await app.api('PATCH', `/api/workspaces/${workspaceId}/workflows/paused`, { enabled: false })).status).toBe(200);
    now += 10 * 60_000;
    await app.app.alerts.pass();
    expect((await alertStatuses(app, workspaceId))[rule]).toBe('ok');
  });
});
