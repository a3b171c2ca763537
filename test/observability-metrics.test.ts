import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';
import { eventually } from './helpers/loopback.js';
import { deltas, scrape, seriesKey } from './helpers/prometheus.js';

const KEY_A = 'alpha-key-0123456789';
const KEY_B = 'beta-key-0123456789';
const T0 = Date.parse('2026-03-01T10:00:30Z');
const script = [{ id: 'noop', type: 'script', code: 'return 1;' }];

async function post(url: string, headers: Record<string, string> = {}, body = '{"order":1}'): Promise<number> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  await response.arrayBuffer();
  return response.status;
}

const webhooks = (workspace: string, workflow: string, outcome: string) => seriesKey('hookflow_webhooks_total', { workspace, workflow, outcome });

describe('per-workflow metrics', () => {
  let nowMs = T0;
  let app: TestApp;
  let ws: string;

  beforeAll(async () => {
    app = await startTestApp({ clock: () => nowMs, env: { HOOKFLOW_STATS_FLUSH_MS: '100' } });
    ws = (await createWorkflow(app, { id: 'alpha', name: 'alpha', trigger: { type: 'webhook', sharedKey: KEY_A, rateLimit: { perMinute: 4 }, maxBodyBytes: 256 }, steps: script })).workspaceId;
    expect((await app.api('POST', `/api/workspaces/${ws}/workflows`, { id: 'beta', name: 'beta', trigger: { type: 'webhook', sharedKey: KEY_B }, steps: script })).status).toBe(201);
    expect((await app.api('POST', `/api/workspaces/${ws}/workflows`, { id: 'off', name: 'off', enabled: false, trigger: { type: 'webhook' }, steps: script })).status).toBe(201);
  });
  afterAll(async () => app.stop());

  it('moves by exactly the mix sent, per workflow, and counts unknown ids per workspace', async () => {
    const before = await scrape(app.url);
    const alpha = `${app.url}/api/webhook/${ws}/alpha`;
    const beta = `${app.url}/api/webhook/${ws}/beta`;
    const statuses = [
      await post(alpha, { 'x-webhook-key': KEY_A, 'idempotency-key': 'd1' }),
      await post(alpha, { 'x-webhook-key': KEY_A, 'idempotency-key': 'd2' }),
      await post(alpha, { 'x-webhook-key': KEY_A, 'idempotency-key': 'd1' }),
      await post(alpha, { 'x-webhook-key': 'wrong-key-000000' }),
      await post(alpha, { 'x-webhook-key': KEY_A }, JSON.stringify({ pad: 'x'.repeat(400) })),
      // The 413 used a token of the 4 per minute (limit before size): this one is refused.
      await post(alpha, { 'x-webhook-key': KEY_A }),
      await post(beta, { 'x-webhook-key': KEY_B }),
      await post(beta),
      await post(beta, { 'x-webhook-key': 'wrong-key-000000' }),
      await post(beta, { 'x-webhook-key': 'wrong-key-111111' }),
      await post(`${app.url}/api/webhook/${ws}/no-such-workflow`, { 'x-webhook-key': KEY_A }),
      await post(`${app.url}/api/webhook/${ws}/typo-alpha`),
      await post(`${app.url}/api/webhook/${ws}/off`),
    ];
    const put = await fetch(beta, { method: 'PUT', headers: { 'x-webhook-key': KEY_B } });
    await put.arrayBuffer();
    statuses.push(put.status);
    expect(statuses).toStrictEqual([200, 200, 200, 401, 413, 429, 200, 401, 401, 401, 404, 404, 404, 405]);

    const expected = new Map([
      [webhooks(ws, 'alpha', 'accepted'), 2],
      [webhooks(ws, 'alpha', 'duplicate'), 1],
      [webhooks(ws, 'alpha', 'invalid_key'), 1],
      [webhooks(ws, 'alpha', 'body_too_large'), 1],
      [webhooks(ws, 'alpha', 'trigger_rate_limit'), 1],
      [webhooks(ws, 'beta', 'accepted'), 1],
      [webhooks(ws, 'beta', 'missing_key'), 1],
      [webhooks(ws, 'beta', 'invalid_key'), 2],
      [webhooks(ws, 'beta', 'method_not_allowed'), 1],
      [webhooks(ws, '(unknown)', 'not_found'), 2],
      // A disabled workflow exists: its refusals count under its own id.
      [webhooks(ws, 'off', 'not_found'), 1],
    ]);
    // Counted when each answer has been sent: poll until the last one is in.
    const moved = await eventually(async () => {
      const now = deltas(before, await scrape(app.url), 'hookflow_webhooks_total');
      return now.size === expected.size ? now : undefined;
    });
    expect(moved).toStrictEqual(expected);

    const after = await scrape(app.url);
    expect(after.get(seriesKey('hookflow_ingest_duration_seconds_count', { workspace: ws, workflow: 'alpha' }))).toBe(2);
    expect(after.get(seriesKey('hookflow_ingest_duration_seconds_count', { workspace: ws, workflow: 'beta' }))).toBe(1);

    // The stats API, from stored rows (flushed every 100 ms here), moves by the same mix.
    const statsOf = async (path: string, total: number) =>
      eventually(async () => {
        const answer = await app.api('GET', `/api/workspaces/${ws}${path}/stats?windowSeconds=3600`);
        expect(answer.status).toBe(200);
        return answer.body.webhooks.total === total ? answer.body : undefined;
      });
    const alphaStats = await statsOf('/workflows/alpha', 6);
    expect(alphaStats.webhooks).toStrictEqual({
      total: 6, errors: 3,
      byOutcome: { accepted: 2, duplicate: 1, invalid_key: 1, body_too_large: 1, trigger_rate_limit: 1 },
      byStatus: { 200: 3, 401: 1, 413: 1, 429: 1 },
    });
    expect(alphaStats.errorRate).toBe(0.5);
    expect(alphaStats.p50Ms).toBeGreaterThan(0);
    expect(alphaStats.p50Ms).toBeLessThanOrEqual(alphaStats.p95Ms);
    expect(alphaStats.p95Ms).toBeLessThanOrEqual(alphaStats.p99Ms);
    expect(alphaStats.runs).toMatchObject({ total: 2, byStatus: { queued: 2, running: 0, succeeded: 0, failed: 0 }, failureRate: null });
    expect(alphaStats.series.bucketSeconds).toBe(60);
    const busy = alphaStats.series.buckets.filter((bucket: { webhooks: number }) => bucket.webhooks > 0);
    expect(busy).toStrictEqual([{ start: '2026-03-01T10:00:00.000Z', webhooks: 6, errors: 3, accepted: 2, runsSucceeded: 0, runsFailed: 0 }]);

    const betaStats = await statsOf('/workflows/beta', 5);
    expect(betaStats.webhooks.byOutcome).toStrictEqual({ accepted: 1, missing_key: 1, invalid_key: 2, method_not_allowed: 1 });
    expect(betaStats.errorRate).toBe(0.8);

    const workspaceStats = await statsOf('', 14);
    expect(workspaceStats.errorRate).toBe(Math.round((10 / 14) * 10_000) / 10_000);
    expect(workspaceStats.webhooks.byOutcome.not_found).toBe(3);
    expect(workspaceStats.workflows).toStrictEqual([
      { workflowId: 'alpha', webhooks: 6, errors: 3, errorRate: 0.5 },
      { workflowId: 'beta', webhooks: 5, errors: 4, errorRate: 0.8 },
      { workflowId: null, webhooks: 2, errors: 2, errorRate: 1 },
      { workflowId: 'off', webhooks: 1, errors: 1, errorRate: 1 },
    ]);
    expect(workspaceStats.runs.total).toBe(3);
  });

  it('stats answer 404 for an unknown workspace and 400 for a bad window', async () => {
    expect((await app.api('GET', '/api/workspaces/no-such-ws/stats')).status).toBe(404);
    const bad = await app.api('GET', `/api/workspaces/${ws}/stats?windowSeconds=5`);
    expect(bad.status).toBe(400);
    expect(bad.body.details).toStrictEqual(['windowSeconds: Too small: expected number to be >=60']);
  });

  it('shows the queue: runs waiting and how long the oldest due one has waited', async () => {
    // No workers run in this app: the three accepted calls above are still queued.
    nowMs = T0 + 42_000;
    const metrics = await scrape(app.url);
    expect(metrics.get('hookflow_queue_depth')).toBe(3);
    expect(metrics.get('hookflow_queue_oldest_age_seconds')).toBe(42);
  });

  it('10,000 invented workflow ids (and workspaces) add at most 2 series', async () => {
    // Per-workflow series only (the process defaults come and go with the garbage collector).
    const count = (metrics: Map<string, number>) => [...metrics.keys()].filter((key) => key.includes('workspace="')).length;
    const before = await scrape(app.url);
    const urls = Array.from({ length: 10_000 }, (_, i) =>
      // Half under the real workspace, half under invented workspaces too.
      i % 2 === 0 ? `${app.url}/api/webhook/${ws}/invented-${i}` : `${app.url}/api/webhook/ws-invented-${i}/wf-${i}`,
    );
    for (let start = 0; start < urls.length; start += 50) {
      const statuses = await Promise.all(urls.slice(start, start + 50).map((url) => post(url)));
      expect(new Set(statuses)).toStrictEqual(new Set([404]));
    }
    const after = await eventually(async () => {
      const metrics = await scrape(app.url);
      const total = (metrics.get(webhooks(ws, '(unknown)', 'not_found')) ?? 0) + (metrics.get(webhooks('(unknown)', '(unknown)', 'not_found')) ?? 0);
      const previously = (before.get(webhooks(ws, '(unknown)', 'not_found')) ?? 0) + (before.get(webhooks('(unknown)', '(unknown)', 'not_found')) ?? 0);
      return total - previously === 10_000 ? metrics : undefined;
    }, 60_000);
    const added = [...after.keys()].filter((key) => key.includes('workspace="') && !before.has(key));
    expect(added).toStrictEqual([webhooks('(unknown)', '(unknown)', 'not_found')]);
    expect(count(after) - count(before)).toBeLessThanOrEqual(2);
  }, 120_000);
});

describe('the series cap', () => {
  let app: TestApp;
  afterAll(async () => app.stop());

  it('past HOOKFLOW_METRICS_MAX_WORKFLOWS label pairs, workflows count under (other)', async () => {
    app = await startTestApp({ env: { HOOKFLOW_METRICS_MAX_WORKFLOWS: '2' } });
    const urls: string[] = [];
    let ws = '';
    for (const id of ['one', 'two', 'three', 'four']) {
      const created = ws === ''
        ? await createWorkflow(app, { id, name: id, trigger: { type: 'webhook', sharedKey: `${id}-key-0123456789` }, steps: script })
        : { webhookUrl: (await app.api('POST', `/api/workspaces/${ws}/workflows`, { id, name: id, trigger: { type: 'webhook', sharedKey: `${id}-key-0123456789` }, steps: script })).body.webhookUrl as string, workspaceId: ws };
      ws = created.workspaceId;
      urls.push(created.webhookUrl);
    }
    for (const url of urls) expect(await post(url)).toBe(200);
    const metrics = await eventually(async () => {
      const scraped = await scrape(app.url);
      return scraped.get(webhooks('(other)', '(other)', 'accepted')) === 2 ? scraped : undefined;
    });
    expect(metrics.get(webhooks(ws, 'one', 'accepted'))).toBe(1);
    expect(metrics.get(webhooks(ws, 'two', 'accepted'))).toBe(1);
    expect([...metrics.keys()].filter((key) => key.includes('workflow="three"') || key.includes('workflow="four"'))).toStrictEqual([]);
  });
});

describe('HOOKFLOW_METRICS_TOKEN', () => {
  const TOKEN = 'metrics-token-0123456789';
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { HOOKFLOW_METRICS_TOKEN: TOKEN } });
  });
  afterAll(async () => app.stop());

  it('/metrics answers only with the token', async () => {
    const open = await fetch(`${app.url}/metrics`);
    expect(open.status).toBe(401);
    expect(await open.json()).toStrictEqual({ error: 'Unauthorized' });
    const wrong = await fetch(`${app.url}/metrics`, { headers: { authorization: 'Bearer metrics-token-9876543210' } });
    expect(wrong.status).toBe(401);
    const metrics = await scrape(app.url, TOKEN);
    expect(metrics.has('hookflow_queue_depth')).toBe(true);
    expect(app.logs()).not.toContain(TOKEN);
  });

  it('refuses a token shorter than 16 characters at start', async () => {
    await expect(startTestApp({ env: { HOOKFLOW_METRICS_TOKEN: 'short' } })).rejects.toThrow(/HOOKFLOW_METRICS_TOKEN/);
  });
});
