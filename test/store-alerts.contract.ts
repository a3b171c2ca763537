import { describe, expect, it } from 'vitest';
import type { AlertDeliveryRecord, AlertHistoryRecord, AlertRuleRecord, AlertStatus, AlertTransition } from '../src/store/alert-store.js';
import { newId } from '../src/store/ids.js';
import type { IngestRecord, Store } from '../src/store/store.js';

/*
 * The alerts part of the Store contract (store/alert-store.ts), run by describeStoreContract
 * against each adapter on its shared store. Every test makes its own workspace, so tests
 * sharing the store never see each other (the evaluator lease is one row: one test uses it).
 */

const T0 = 4_100_000_000_000;
/** Queue times of the measures test (see there). */
const Q0 = 200_000_000_000;

function rule(workspaceId: string, overrides: Partial<AlertRuleRecord> = {}): AlertRuleRecord {
  return {
    workspaceId, id: newId('alr'), name: 'orders failing', kind: 'run_failure_rate', workflowId: 'orders', params: { windowMinutes: 15, threshold: 0.2, minRuns: 5 },
    channelIds: ['alc_1'], enabled: true, createdAt: T0, updatedAt: T0, ...overrides,
  };
}

function transition(workspaceId: string, ruleId: string, to: AlertStatus, at: number, channelIds: string[] = []): AlertTransition {
  const history: AlertHistoryRecord = { id: newId('alh', at), workspaceId, ruleId, ruleName: 'r', status: to === 'firing' ? 'firing' : 'resolved', at, value: 0.5, message: `went ${to}` };
  const deliveries: AlertDeliveryRecord[] = channelIds.map((channelId) => ({
    id: newId('msg', at), historyId: history.id, workspaceId, channelId, payload: '{"text":"x"}', status: 'pending', attempts: 0, nextAttemptAt: at,
    lastStatus: null, lastError: null, deliveredAt: null,
  }));
  return { state: { workspaceId, ruleId, status: to, since: at, value: 0.5, message: `went ${to}` }, expected: to === 'firing' ? 'ok' : 'firing', history, deliveries };
}

function ingest(workspaceId: string, workflowId: string, receivedAt: number, test = false): IngestRecord {
  return {
    event: { id: newId('evt', receivedAt), workspaceId, workflowId, workflowVersion: 1, receivedAt, test, headersJson: '{}', bodyJson: '{}', metaJson: '{}', idempotencyKey: null },
    run: test ? null : { id: newId('run', receivedAt), maxAttempts: 1 },
    idempotency: null,
  };
}

export function describeAlertContract(store: () => Store, workspace: () => Promise<string>): void {
  describe('alert channels and rules', () => {
    it('stores a channel once (a second with its id conflicts), lists and deletes it', async () => {
      const ws = await workspace();
      const channel = { workspaceId: ws, id: newId('alc'), name: 'ops', url: 'https://hooks.example.com/x', secretCiphertext: 'v1.k.iv.tag.data', createdAt: T0 };
      await store().alerts.createAlertChannel(channel);
      await expect(store().alerts.createAlertChannel(channel)).rejects.toMatchObject({ code: 'HOOKFLOW_ERR_CONFLICT' });
      expect(await store().alerts.getAlertChannel(ws, channel.id)).toEqual(channel);
      expect(await store().alerts.listAlertChannels(ws)).toEqual([channel]);
      expect((await store().alerts.listAllAlertChannels()).map((c) => c.id)).toContain(channel.id);
      await store().alerts.reencryptAlertChannels([{ workspaceId: ws, id: channel.id, secretCiphertext: 'v1.k2.iv.tag.data' }]);
      expect(await store().alerts.getAlertChannel(ws, channel.id)).toMatchObject({ secretCiphertext: 'v1.k2.iv.tag.data' });
      expect(await store().alerts.deleteAlertChannel(ws, channel.id)).toBe(true);
      expect(await store().alerts.deleteAlertChannel(ws, channel.id)).toBe(false);
      expect(await store().alerts.getAlertChannel(ws, channel.id)).toBeNull();
    });

    it('puts, replaces, lists and deletes rules; deleting one forgets its state', async () => {
      const ws = await workspace();
      const first = rule(ws, { workflowId: null, enabled: false });
      const second = rule(ws, { createdAt: T0 + 1, updatedAt: T0 + 1 });
      await store().alerts.putAlertRule(first);
      await store().alerts.putAlertRule(second);
      expect(await store().alerts.listAlertRules(ws)).toEqual([first, second]);
      const renamed = { ...second, name: 'renamed', params: { windowMinutes: 5, threshold: 0.5, minRuns: 1 }, updatedAt: T0 + 9 };
      await store().alerts.putAlertRule(renamed);
      expect(await store().alerts.getAlertRule(ws, second.id)).toEqual(renamed);
      expect((await store().alerts.listAlertRules(null)).map((r) => r.id)).toEqual(expect.arrayContaining([first.id, second.id]));
      expect(await store().alerts.transitionAlert(transition(ws, second.id, 'firing', T0))).toBe(true);
      expect(await store().alerts.deleteAlertRule(ws, second.id)).toBe(true);
      expect(await store().alerts.deleteAlertRule(ws, second.id)).toBe(false);
      expect(await store().alerts.listAlertStates(ws)).toEqual([]);
      expect(await store().alerts.getAlertRule(ws, second.id)).toBeNull();
    });
  });

  describe('alert state changes', () => {
    it('are compare-and-set: only the change from the expected status applies, with its history and deliveries', async () => {
      const ws = await workspace();
      const ruleId = newId('alr');
      // Resolving a rule that never fired changes nothing.
      expect(await store().alerts.transitionAlert(transition(ws, ruleId, 'ok', T0))).toBe(false);
      const fire = transition(ws, ruleId, 'firing', T0 + 1, ['alc_a', 'alc_b']);
      expect(await store().alerts.transitionAlert(fire)).toBe(true);
      expect(await store().alerts.transitionAlert(transition(ws, ruleId, 'firing', T0 + 2, ['alc_a']))).toBe(false);
      expect(await store().alerts.listAlertStates(ws)).toEqual([fire.state]);
      expect(await store().alerts.transitionAlert(transition(ws, ruleId, 'ok', T0 + 3))).toBe(true);
      expect(await store().alerts.transitionAlert(transition(ws, ruleId, 'firing', T0 + 4))).toBe(true);

      const page = await store().alerts.listAlertHistory(ws, { ruleId }, { limit: 2 });
      expect(page.items.map((h) => h.at)).toEqual([T0 + 4, T0 + 3]);
      const rest = await store().alerts.listAlertHistory(ws, {}, { limit: 2, cursor: page.nextCursor ?? undefined });
      expect(rest.items).toEqual([fire.history]);
      expect(rest.nextCursor).toBeNull();
      expect((await store().alerts.listAlertHistory(ws, { ruleId: 'alr_other' }, { limit: 5 })).items).toEqual([]);
      const deliveries = await store().alerts.listAlertDeliveries([fire.history.id, 'alh_none']);
      expect(deliveries.map((d) => d.channelId).sort()).toEqual(['alc_a', 'alc_b']);

      await store().alerts.clearAlertState(ws, ruleId);
      expect(await store().alerts.listAlertStates(ws)).toEqual([]);
    });

    it('old history and its deliveries go with the retention sweep; current state stays', async () => {
      const ws = await workspace();
      const ruleId = newId('alr');
      const old = transition(ws, ruleId, 'firing', 300_000_000_000, ['alc_old']);
      await store().alerts.transitionAlert(old);
      await store().prune(300_000_000_001, 300_000_000_001);
      expect((await store().alerts.listAlertHistory(ws, {}, { limit: 5 })).items).toEqual([]);
      expect(await store().alerts.listAlertDeliveries([old.history.id])).toEqual([]);
      expect(await store().alerts.listAlertStates(ws)).toEqual([old.state]);
    });

    it('deliveries: due ones are claimed by one caller only, and their outcome recorded', async () => {
      const ws = await workspace();
      const fire = transition(ws, newId('alr'), 'firing', T0 + 10, ['alc_x']);
      await store().alerts.transitionAlert(fire);
      const [delivery] = fire.deliveries as [AlertDeliveryRecord];
      expect((await store().alerts.dueAlertDeliveries(T0 + 9, 1000)).map((d) => d.id)).not.toContain(delivery.id);
      expect((await store().alerts.dueAlertDeliveries(T0 + 10, 1000)).map((d) => d.id)).toContain(delivery.id);
      const claims = await Promise.all([store().alerts.claimAlertDelivery(delivery.id, T0 + 10, T0 + 100), store().alerts.claimAlertDelivery(delivery.id, T0 + 10, T0 + 100)]);
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect((await store().alerts.dueAlertDeliveries(T0 + 50, 1000)).map((d) => d.id)).not.toContain(delivery.id);
      await store().alerts.recordAlertDelivery({ id: delivery.id, status: 'pending', attempts: 1, nextAttemptAt: T0 + 500, lastStatus: 503, lastError: 'answered HTTP 503', deliveredAt: null });
      expect((await store().alerts.listAlertDeliveries([fire.history.id]))[0]).toMatchObject({ attempts: 1, lastStatus: 503, nextAttemptAt: T0 + 500 });
      expect(await store().alerts.claimAlertDelivery(delivery.id, T0 + 499, T0 + 600)).toBe(false);
      expect(await store().alerts.claimAlertDelivery(delivery.id, T0 + 500, T0 + 600)).toBe(true);
      await store().alerts.recordAlertDelivery({ id: delivery.id, status: 'delivered', attempts: 2, nextAttemptAt: null, lastStatus: 200, lastError: null, deliveredAt: T0 + 510 });
      expect(await store().alerts.claimAlertDelivery(delivery.id, T0 + 9_999, T0 + 10_000)).toBe(false);
    });

    it('the evaluator lease: one owner until it expires or is given up', async () => {
      expect(await store().alerts.acquireAlertLease('node-a', T0, 1000)).toBe(true);
      expect(await store().alerts.acquireAlertLease('node-b', T0 + 500, 1000)).toBe(false);
      expect(await store().alerts.acquireAlertLease('node-a', T0 + 900, 1000)).toBe(true); // renewed to T0 + 1900
      expect(await store().alerts.acquireAlertLease('node-b', T0 + 1899, 1000)).toBe(false);
      expect(await store().alerts.acquireAlertLease('node-b', T0 + 1900, 1000)).toBe(true);
      await store().alerts.releaseAlertLease('node-a'); // not its lease any more: nothing happens
      expect(await store().alerts.acquireAlertLease('node-a', T0 + 2000, 1000)).toBe(false);
      await store().alerts.releaseAlertLease('node-b');
      expect(await store().alerts.acquireAlertLease('node-a', T0 + 2000, 1000)).toBe(true);
      await store().alerts.releaseAlertLease('node-a');
    });
  });

  describe('alert measures', () => {
    it('count finished runs, find the oldest due run and the latest real events, per workflow or workspace', async () => {
      // Queue times of their own, before every queue window of the other contract tests, so this
      // test claims only its own runs and recovers no other test's lease.
      const ws = await workspace();
      await store().createWorkflow({ workspaceId: ws, id: 'a', version: 1, name: 'a', enabled: true, definition: { steps: [] }, createdAt: Q0, updatedAt: Q0 }, []);
      await store().createWorkflow({ workspaceId: ws, id: 'b', version: 1, name: 'b', enabled: true, definition: { steps: [] }, createdAt: Q0, updatedAt: Q0 }, []);
      for (const [wf, at] of [['a', Q0 + 1000], ['a', Q0 + 2000], ['b', Q0 + 3000], ['a', Q0 + 4000]] as const) await store().ingest(ingest(ws, wf, at), at);
      await store().ingest(ingest(ws, 'a', Q0 + 5000, true), Q0 + 5000);
      expect(await store().alerts.recentEventTimes(ws, 'a', 2)).toEqual([Q0 + 4000, Q0 + 2000]);
      expect(await store().alerts.recentEventTimes(ws, 'nothing', 10)).toEqual([]);
      expect(await store().alerts.oldestDueRun({ workspaceId: ws, workflowId: 'b' }, Q0 + 10_000)).toBe(Q0 + 3000);
      expect(await store().alerts.oldestDueRun({ workspaceId: ws, workflowId: null }, Q0 + 1500)).toBe(Q0 + 1000);
      expect(await store().alerts.oldestDueRun({ workspaceId: ws, workflowId: null }, Q0 + 500)).toBeNull();

      const mine: { runId: string; attempt: number; workerId: string; workflowId: string }[] = [];
      for (let round = 0; round < 50 && mine.length < 4; round++) {
        for (const claimed of await store().claimRuns({ workerId: 'contract', limit: 100, leaseMs: 60_000, now: Q0 + 10_000 })) {
          if (claimed.run.workspaceId === ws) mine.push({ runId: claimed.run.id, attempt: claimed.run.attempts, workerId: 'contract', workflowId: claimed.run.workflowId });
        }
      }
      expect(mine).toHaveLength(4);
      const [first, second, third, fourth] = mine as [typeof mine[0], typeof mine[0], typeof mine[0], typeof mine[0]];
      await store().completeRun(first, Q0 + 20_000);
      await store().failRun(second, 'boom', null, Q0 + 21_000);
      await store().failRun(third, 'boom', null, Q0 + 22_000);
      await store().failRun(fourth, 'retry', Q0 + 99_000, Q0 + 23_000); // back in the queue, not finished
      const a = mine.filter((m) => m.workflowId === 'a' && m !== fourth);
      expect(await store().alerts.countFinishedRuns({ workspaceId: ws, workflowId: null }, Q0 + 20_000)).toEqual({ succeeded: 1, failed: 2 });
      expect(await store().alerts.countFinishedRuns({ workspaceId: ws, workflowId: null }, Q0 + 21_500)).toEqual({ succeeded: 0, failed: 1 });
      const inA = await store().alerts.countFinishedRuns({ workspaceId: ws, workflowId: 'a' }, Q0);
      expect(inA.succeeded + inA.failed).toBe(a.length);
      expect(await store().alerts.oldestDueRun({ workspaceId: ws, workflowId: null }, Q0 + 98_000)).toBeNull();
    });
  });
}
