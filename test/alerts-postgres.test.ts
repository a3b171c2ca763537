import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { alertStatuses, createChannel, createRule, verifiedNotification } from './helpers/alerts.js';
import { startLoopbackServer } from './helpers/loopback.js';
import { createTestSchema, describeWithPostgres, type TestSchema } from './helpers/postgres.js';

/**
 * Two nodes share one PostgreSQL schema and both evaluate alerts on every pass: the lease lets
 * one of them at a time, the compare-and-set state change lets one change through even when
 * both try, so each state change is notified exactly once. Traffic reaches both nodes.
 */
await describeWithPostgres('alerts across two nodes on PostgreSQL', () => {
  let schema: TestSchema;
  let nodes: TestApp[] = [];
  let receiver: Awaited<ReturnType<typeof startLoopbackServer>>;
  let now = Date.now();

  beforeAll(async () => {
    schema = await createTestSchema();
    receiver = await startLoopbackServer((_request, response) => response.end());
    const shared = {
      DATABASE_URL: schema.connectionString, HOOKFLOW_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'), HOOKFLOW_WORKER_CONCURRENCY: '0',
      HOOKFLOW_STATS_FLUSH_MS: '100', HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8', HOOKFLOW_ALERTS_INTERVAL_MS: '3600000',
    };
    nodes = [await startTestApp({ env: shared, clock: () => now }), await startTestApp({ env: shared, clock: () => now })];
  });
  afterAll(async () => {
    for (const node of nodes) await node.stop();
    await receiver?.close();
    await schema?.drop();
  });

  /** Both nodes run a pass at once; returns how many led and how many state changes they made. */
  async function bothPass(): Promise<{ leaders: number; changes: number }> {
    const results = await Promise.all(nodes.map((node) => node.app.alerts.pass()));
    return { leaders: results.filter((r) => r.leader).length, changes: results.reduce((sum, r) => sum + r.changes, 0) };
  }

  it('each state change is notified once, whichever node evaluates', async () => {
    const [a, b] = nodes as [TestApp, TestApp];
    const workspaceId = 'pg-alerts';
    expect((await a.api('POST', '/api/workspaces', { id: workspaceId, name: 'pg' })).status).toBe(201);
    const steady = await a.api('POST', `/api/workspaces/${workspaceId}/workflows`, { id: 'steady', name: 'steady', trigger: { type: 'webhook', sharedKey: 'steady-key-0123456789' } });
    const channel = await createChannel(b, workspaceId, `${receiver.url}/pg`);
    const silence = await createRule(a, workspaceId, { kind: 'silence', workflowId: 'steady', params: { silenceMinutes: 2, minEvents: 5 }, channelIds: [channel.id] });
    const lag = await createRule(b, workspaceId, { kind: 'queue_lag', params: { thresholdSeconds: 30 }, channelIds: [channel.id] });
    const auth = await createRule(a, workspaceId, { kind: 'invalid_auth', workflowId: 'steady', params: { threshold: 2 }, channelIds: [channel.id] });

    // A call every second, alternating nodes, and two with a wrong key.
    const url = `${steady.body.webhookUrl.split('?')[0]}`;
    for (let i = 0; i < 8; i++) {
      now += 1_000;
      const node = nodes[i % 2] as TestApp;
      const response = await fetch(url.replace(a.url, node.url), { method: 'POST', headers: { 'x-webhook-key': i < 2 ? 'wrong-key-0000000000' : 'steady-key-0123456789' }, body: '{}' });
      expect(response.status).toBe(i < 2 ? 401 : 200);
    }
    // Both nodes' stats are stored (each flushes every 100 ms).
    for (let tries = 0; ; tries++) {
      const stats = await a.api('GET', `/api/workspaces/${workspaceId}/workflows/steady/stats`);
      if (stats.body.webhooks.total === 8) break;
      if (tries > 400) throw new Error('stats not flushed');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }

    const first = await bothPass();
    expect(first).toEqual({ leaders: 1, changes: 1 }); // invalid_auth fires
    now += 30_000;
    expect(await bothPass()).toEqual({ leaders: 1, changes: 1 }); // queue lag fires
    now += 2 * 60_000;
    expect(await bothPass()).toEqual({ leaders: 1, changes: 1 }); // silence fires
    expect(await bothPass()).toEqual({ leaders: 1, changes: 0 });
    expect(await alertStatuses(b, workspaceId)).toEqual({ [silence]: 'firing', [lag]: 'firing', [auth]: 'firing' });

    // The leader stops: its lease is given up and the other node takes over at its next pass.
    const leader = (await a.app.alerts.pass()).leader ? a : b;
    const other = leader === a ? b : a;
    await leader.stop();
    nodes = [other];
    now += 6 * 60_000; // the invalid-key burst leaves the window
    expect((await other.app.alerts.pass())).toEqual({ leader: true, changes: 1 });
    expect((await fetch(url.replace(a.url, other.url), { method: 'POST', headers: { 'x-webhook-key': 'steady-key-0123456789' }, body: '{}' })).status).toBe(200);
    expect((await other.app.alerts.pass()).changes).toBe(1); // silence resolves

    const got = receiver.received.map((request) => verifiedNotification(request, channel.secret).metadata.event_payload);
    expect(got.map((p) => [p['status'], p['rule_id']])).toEqual([['firing', auth], ['firing', lag], ['firing', silence], ['resolved', auth], ['resolved', silence]]);
    const history = await other.api('GET', `/api/workspaces/${workspaceId}/alerts/history`);
    expect(history.body.items).toHaveLength(5);
  });

  it('a state change is a compare-and-set: of two nodes applying the same one, one wins', async () => {
    const [node] = nodes as [TestApp];
    const peer = await startTestApp({ env: { DATABASE_URL: schema.connectionString, HOOKFLOW_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'), HOOKFLOW_ALERTS_INTERVAL_MS: '3600000' } });
    try {
      const change = (id: string) => ({
        state: { workspaceId: 'pg-alerts', ruleId: 'alr_cas', status: 'firing' as const, since: now, value: 1, message: 'm' },
        expected: 'ok' as const,
        history: { id, workspaceId: 'pg-alerts', ruleId: 'alr_cas', ruleName: 'cas', status: 'firing' as const, at: now, value: 1, message: 'm' },
        deliveries: [],
      });
      const results = await Promise.all([node.app.store.alerts.transitionAlert(change('alh_cas_1')), peer.app.store.alerts.transitionAlert(change('alh_cas_2'))]);
      expect(results.filter(Boolean)).toHaveLength(1);
      const history = await node.api('GET', '/api/workspaces/pg-alerts/alerts/history?ruleId=alr_cas');
      expect(history.body.items).toHaveLength(1);
    } finally {
      await peer.stop();
    }
  });
});
