import { describe, expect, it } from 'vitest';
import { newId } from '../src/store/ids.js';
import type { Store, TestRunRecord } from '../src/store/store.js';
import { parseExactJson } from '../src/util/exact-json.js';

/*
 * The test-run part of the Store contract, run by describeStoreContract against each adapter on
 * its shared store. Each test uses a fresh workspace and workflow id, so tests never see each
 * other's rows. Retention by age is checked with the other retention in the queue tests (prune).
 */

const T0 = 4_000_000_000_000;

function testRun(overrides: Partial<TestRunRecord> = {}): TestRunRecord {
  return {
    id: newId('test'), workspaceId: 'ws', workflowId: 'wf', kind: 'single', mode: 'mock', status: 'succeeded',
    eventId: newId('evt'), baselineRunId: null, createdAt: T0, result: { steps: [{ id: 'decide', output: 'ship' }] }, ...overrides,
  };
}

export function describeTestRunContract(store: () => Store): void {
  describe('test runs', () => {
    it('stores a test run and reads it back whole, numbers beyond 2^53 exact; unknown or another workspace\'s ids are null', async () => {
      const record = testRun({ workspaceId: newId('ws'), baselineRunId: newId('run'), result: parseExactJson('{"steps":[{"id":"lookup","output":{"orderId":820982911946154508}}]}') });
      await store().saveTestRun(record, 10);
      const read = await store().getTestRun(record.workspaceId, record.id);
      expect(read).toEqual(record);
      expect(JSON.stringify(read?.result)).toContain('820982911946154508');
      expect(await store().getTestRun(record.workspaceId, newId('test'))).toBeNull();
      expect(await store().getTestRun(newId('ws'), record.id)).toBeNull();
    });

    it('lists a workflow\'s test runs newest first with paging, without their results', async () => {
      const workspaceId = newId('ws');
      const workflowId = newId('wf');
      const records = [0, 1, 2].map((i) => testRun({ workspaceId, workflowId, createdAt: T0 + i, kind: i === 2 ? 'batch' : 'single', eventId: i === 2 ? null : newId('evt') }));
      for (const record of records) await store().saveTestRun(record, 10);
      await store().saveTestRun(testRun({ workspaceId, workflowId: newId('wf') }), 10);
      const first = await store().listTestRuns(workspaceId, workflowId, { limit: 2 });
      expect(first.items).toEqual([records[2], records[1]].map((r) => ({ ...r, result: null })));
      const second = await store().listTestRuns(workspaceId, workflowId, { limit: 2, cursor: first.nextCursor ?? undefined });
      expect(second).toEqual({ items: [{ ...records[0], result: null }], nextCursor: null });
    });

    it('keeps only the newest `keep` test runs of a workflow, other workflows untouched', async () => {
      const workspaceId = newId('ws');
      const workflowId = newId('wf');
      const other = testRun({ workspaceId, workflowId: newId('wf') });
      await store().saveTestRun(other, 2);
      const records = [0, 1, 2, 3].map((i) => testRun({ workspaceId, workflowId, createdAt: T0 + i }));
      for (const record of records) await store().saveTestRun(record, 2);
      const kept = await store().listTestRuns(workspaceId, workflowId, { limit: 10 });
      expect(kept.items.map((r) => r.id)).toEqual([records[3]?.id, records[2]?.id]);
      expect(await store().getTestRun(workspaceId, records[0]?.id ?? '')).toBeNull();
      expect(await store().getTestRun(workspaceId, other.id)).not.toBeNull();
    });
  });
}
