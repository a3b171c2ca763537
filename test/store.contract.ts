import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../src/store/ids.js';
import type { IngestRecord, IngestResult, SecretRecord, StepResultRecord, Store, WebhookStatRow, WorkflowRecord, WorkspaceSecretRecord } from '../src/store/store.js';
import { describeAccessContract } from './store-access.contract.js';
import { describeTestRunContract } from './store-test-runs.contract.js';
import { describeAlertContract } from './store-alerts.contract.js';

/*
 * The one contract every Store adapter passes (DESIGN.md, Layers). Tests assert what a user of
 * the store relies on, never how an adapter stores it. Times are passed explicitly everywhere.
 *
 * The suite shares one store across its tests (opened in beforeAll), so every test makes its own
 * ids. Two things are global in the Store interface and need care:
 * - listWorkspaces lists every workspace: its paging test runs first, on the empty store.
 * - the queue (claimRuns, nextDueAt, prune) spans all workflows: each queue test runs in its own
 *   window of time, earlier than every window before it, so runs left behind by earlier tests
 *   are never due, expired or old enough to prune in a later test.
 */

/** Non-queue tests live here: year 2096, past any wall clock an adapter might consult (prune). */
const T0 = 4_000_000_000_000;
const HOUR = 3_600_000;

let lastWindow = 1_000_000_000_000;
/** Start of a fresh queue window (~11.5 days wide), earlier than all windows handed out before. */
function nextWindow(): number {
  lastWindow -= 1_000_000_000;
  return lastWindow;
}

function workflowRecord(workspaceId: string, overrides: Partial<WorkflowRecord> = {}): WorkflowRecord {
  return {
    workspaceId, id: newId('wf'), version: 1, name: 'Order created', enabled: true,
    definition: { steps: [{ id: 'notify', type: 'http' }] }, createdAt: T0, updatedAt: T0, ...overrides,
  };
}

function secret(workspaceId: string, workflowId: string, purpose: string, createdAt = T0, origin: string | null = null): SecretRecord {
  return { id: newId('sec'), workspaceId, workflowId, purpose, ciphertext: `v1:${newId('ct')}`, createdAt, expiresAt: null, origin };
}

interface IngestOptions {
  receivedAt?: number;
  test?: boolean;
  key?: string;
  keyExpiresAt?: number;
  maxAttempts?: number;
  version?: number;
  body?: unknown;
}

function ingestRecord(workspaceId: string, workflowId: string, options: IngestOptions = {}): IngestRecord {
  const receivedAt = options.receivedAt ?? T0;
  const test = options.test ?? false;
  return {
    event: {
      id: newId('evt'), workspaceId, workflowId, workflowVersion: options.version ?? 1, receivedAt, test,
      headersJson: JSON.stringify({ 'content-type': 'application/json', 'x-request-id': 'abc' }),
      bodyJson: JSON.stringify(options.body ?? { order: 42, items: ['a', 'b'] }),
      metaJson: JSON.stringify({ method: 'POST', sourceIp: '203.0.113.7' }),
      idempotencyKey: options.key ?? null,
    },
    run: test ? null : { id: newId('run'), maxAttempts: options.maxAttempts ?? 3 },
    idempotency: options.key === undefined ? null : { key: options.key, expiresAt: options.keyExpiresAt ?? receivedAt + HOUR },
  };
}

function stepResult(runId: string, stepId: string, stepIndex: number, attempt: number, status: 'succeeded' | 'failed', at: number): StepResultRecord {
  return {
    runId, stepId, stepIndex, type: 'http', attempt, status, startedAt: at, finishedAt: at + 5,
    output: status === 'succeeded' ? { status: 200, body: { ok: true } } : null,
    memoryWrites: status === 'succeeded' ? { [stepId]: { ok: true } } : {},
    error: status === 'failed' ? 'HTTP 500' : null, logs: [`${stepId} ran`], usage: stepIndex === 0 ? { tokens: 12 } : null,
    // What a store reads back for a step written once (the writers ignore the field).
    earlierAttempts: [],
  };
}

const accepted = (record: IngestRecord): IngestResult => ({ duplicate: false, eventId: record.event.id, runId: record.run?.id ?? null });
const code = (c: string): { code: string } => ({ code: c });

/**
 * Registers the contract tests for one adapter. `open` must return a fresh, empty store; it is
 * called once per suite and closed afterwards, then `cleanup` (if any) runs.
 */
export function describeStoreContract(name: string, open: () => Promise<Store>, cleanup?: () => Promise<void>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;

    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store?.close();
      await cleanup?.();
    });

    async function workspace(createdAt = T0): Promise<string> {
      const id = newId('ws');
      await store.createWorkspace({ id, name: `Team ${id}`, createdAt });
      return id;
    }

    /** A workspace with one workflow (v1), for tests that need somewhere to ingest. */
    async function workflow(createdAt = T0): Promise<{ ws: string; wf: string }> {
      const ws = await workspace(createdAt);
      const record = workflowRecord(ws, { createdAt, updatedAt: createdAt });
      await store.createWorkflow(record, [secret(ws, record.id, 'shared-key', createdAt)]);
      return { ws, wf: record.id };
    }

    describeAccessContract(() => store);
    describeTestRunContract(() => store);

    describe('workspaces', () => {
      // First test of the suite: listWorkspaces spans the whole (still empty) store.
      it('pages newest first with a cursor until the cursor is null', async () => {
        const [a, b, c] = [await workspace(T0 + 1), await workspace(T0 + 2), await workspace(T0 + 3)];
        const first = await store.listWorkspaces({ limit: 2 });
        expect(first.items.map((w) => w.id)).toEqual([c, b]);
        expect(first.nextCursor).not.toBeNull();
        const second = await store.listWorkspaces({ limit: 2, cursor: first.nextCursor ?? undefined });
        expect(second.items.map((w) => w.id)).toEqual([a]);
        expect(second.nextCursor).toBeNull();
      });

      it('creates and reads back a workspace; unknown ids read as null', async () => {
        const id = newId('ws');
        await store.createWorkspace({ id, name: 'Acme', createdAt: T0 });
        expect(await store.getWorkspace(id)).toEqual({ id, name: 'Acme', createdAt: T0 });
        expect(await store.getWorkspace(newId('ws'))).toBeNull();
      });

      it('refuses a duplicate id with CONFLICT', async () => {
        const id = await workspace();
        await expect(store.createWorkspace({ id, name: 'again', createdAt: T0 })).rejects.toMatchObject(code('HOOKFLOW_ERR_CONFLICT'));
      });

      it('rejects a cursor it did not issue with VALIDATION', async () => {
        await expect(store.listWorkspaces({ limit: 2, cursor: 'not-a-cursor' })).rejects.toMatchObject(code('HOOKFLOW_ERR_VALIDATION'));
        // Well-formed but crafted, with a NUL in its id (PostgreSQL would refuse the query).
        const crafted = Buffer.from('1:\u0000', 'utf8').toString('base64url');
        await expect(store.listWorkspaces({ limit: 2, cursor: crafted })).rejects.toMatchObject(code('HOOKFLOW_ERR_VALIDATION'));
      });
    });

    describe('workflows and secrets', () => {
      it('creates version 1 with its secrets', async () => {
        const ws = await workspace();
        const record = workflowRecord(ws, { definition: { steps: [], nested: { a: [1, 'two', null] } } });
        const key = secret(ws, record.id, 'shared-key');
        await store.createWorkflow(record, [key]);
        expect(await store.getWorkflow(ws, record.id)).toEqual(record);
        expect(await store.listSecrets(ws, record.id)).toEqual([key]);
        await expect(store.createWorkflow(workflowRecord(ws, { id: record.id }), [])).rejects.toMatchObject(code('HOOKFLOW_ERR_CONFLICT'));
      });

      it('adds versions on update and keeps old versions readable', async () => {
        const ws = await workspace();
        const v1 = workflowRecord(ws);
        await store.createWorkflow(v1, []);
        await store.updateWorkflow({ ...v1, name: 'Renamed', enabled: false, definition: { steps: ['v2'] }, updatedAt: T0 + 1000 }, [], []);
        const latest = await store.getWorkflow(ws, v1.id);
        expect(latest).toMatchObject({ version: 2, name: 'Renamed', enabled: false, definition: { steps: ['v2'] }, createdAt: T0, updatedAt: T0 + 1000 });
        expect(await store.getWorkflow(ws, v1.id, 1)).toEqual(v1);
        expect(await store.getWorkflow(ws, v1.id, 3)).toBeNull();
      });

      it('replaces only the secret purposes it is told to', async () => {
        const ws = await workspace();
        const record = workflowRecord(ws);
        const sharedKey = secret(ws, record.id, 'shared-key');
        const llmKey = secret(ws, record.id, 'llm', T0, 'http://127.0.0.1:11434');
        await store.createWorkflow(record, [sharedKey, llmKey]);
        const byPurpose = (secrets: SecretRecord[]) => [...secrets].sort((a, b) => a.purpose.localeCompare(b.purpose));
        expect(byPurpose(await store.listSecrets(ws, record.id))).toEqual([llmKey, sharedKey]);
        // The destination origin is stored with the secret (migration 4) and read back as is.
        const newLlmKey = secret(ws, record.id, 'llm', T0 + 1, 'https://api.example.com');
        await store.updateWorkflow({ ...record, updatedAt: T0 + 1 }, [newLlmKey], ['llm']);
        expect(await store.listSecrets(ws, record.id)).toEqual([sharedKey, newLlmKey]);
      });

      it('deletes a workflow with its secrets; re-creating the id starts again at version 1', async () => {
        const ws = await workspace();
        const record = workflowRecord(ws);
        await store.createWorkflow(record, [secret(ws, record.id, 'shared-key')]);
        await store.updateWorkflow({ ...record, updatedAt: T0 + 1 }, [], []);
        expect(await store.deleteWorkflow(ws, record.id, T0 + 2)).toBe(true);
        expect(await store.getWorkflow(ws, record.id)).toBeNull();
        expect(await store.listSecrets(ws, record.id)).toEqual([]);
        expect((await store.listWorkflows(ws, { limit: 10 })).items).toEqual([]);
        expect(await store.deleteWorkflow(ws, record.id, T0 + 3)).toBe(false);
        await expect(store.updateWorkflow(record, [], [])).rejects.toMatchObject(code('HOOKFLOW_ERR_NOT_FOUND'));

        await store.createWorkflow({ ...record, name: 'Reborn', createdAt: T0 + 2, updatedAt: T0 + 2 }, []);
        expect(await store.getWorkflow(ws, record.id)).toMatchObject({ version: 1, name: 'Reborn', createdAt: T0 + 2 });
        expect(await store.getWorkflow(ws, record.id, 2)).toBeNull();
      });

      it('answers NOT_FOUND when updating an unknown workflow', async () => {
        const ws = await workspace();
        await expect(store.updateWorkflow(workflowRecord(ws), [], [])).rejects.toMatchObject(code('HOOKFLOW_ERR_NOT_FOUND'));
      });

      it('lists workflows newest first, latest versions only, with paging', async () => {
        const ws = await workspace();
        const [a, b, c] = [workflowRecord(ws, { createdAt: T0 + 1 }), workflowRecord(ws, { createdAt: T0 + 2 }), workflowRecord(ws, { createdAt: T0 + 3 })];
        for (const record of [a, b, c]) await store.createWorkflow(record, []);
        await store.updateWorkflow({ ...b, name: 'b v2', updatedAt: T0 + 10 }, [], []);
        const first = await store.listWorkflows(ws, { limit: 2 });
        expect(first.items.map((w) => [w.id, w.version])).toEqual([[c.id, 1], [b.id, 2]]);
        const second = await store.listWorkflows(ws, { limit: 2, cursor: first.nextCursor ?? undefined });
        expect(second.items.map((w) => w.id)).toEqual([a.id]);
        expect(second.nextCursor).toBeNull();
      });

      it('rotates secrets: adds the new one and expires the old one in one call', async () => {
        const ws = await workspace();
        const record = workflowRecord(ws);
        const old = secret(ws, record.id, 'shared-key');
        await store.createWorkflow(record, [old]);
        const fresh = secret(ws, record.id, 'shared-key', T0 + 1);
        await store.rotateSecrets([fresh], [{ id: old.id, expiresAt: T0 + HOUR }]);
        expect(await store.listSecrets(ws, record.id)).toEqual([{ ...old, expiresAt: T0 + HOUR }, fresh]);

        const all = await store.listAllSecrets();
        expect(all.filter((s) => s.workflowId === record.id).map((s) => s.id).sort()).toEqual([old.id, fresh.id].sort());
        await store.reencryptSecrets([{ id: old.id, ciphertext: 'v2:rewrapped' }]);
        expect((await store.listSecrets(ws, record.id))[0]).toMatchObject({ id: old.id, ciphertext: 'v2:rewrapped', expiresAt: T0 + HOUR });
      });
    });

    describe('workspace secrets', () => {
      const wsSecret = (workspaceId: string, name: string, at: number): WorkspaceSecretRecord => ({
        workspaceId, name, ciphertext: `v1:${newId('ct')}`, allowedOrigins: ['https://api.example.com'], createdAt: at, updatedAt: at,
      });

      it('creates, then replaces keeping createdAt; reads by name; deletes once', async () => {
        const ws = await workspace();
        const first = wsSecret(ws, 'TOKEN', T0);
        expect(await store.putWorkspaceSecret(first)).toEqual({ created: true, createdAt: T0 });
        const second = { ...wsSecret(ws, 'TOKEN', T0 + HOUR), allowedOrigins: [] };
        expect(await store.putWorkspaceSecret(second)).toEqual({ created: false, createdAt: T0 });
        await store.putWorkspaceSecret(wsSecret(ws, 'OTHER', T0));
        expect(await store.getWorkspaceSecrets(ws, ['TOKEN', 'MISSING'])).toEqual([{ ...second, createdAt: T0 }]);
        expect((await store.getWorkspaceSecrets(ws)).map((s) => s.name)).toEqual(['OTHER', 'TOKEN']);
        expect(await store.getWorkspaceSecrets(await workspace())).toEqual([]);
        expect(await store.deleteWorkspaceSecret(ws, 'TOKEN')).toBe(true);
        expect(await store.deleteWorkspaceSecret(ws, 'TOKEN')).toBe(false);
        expect((await store.getWorkspaceSecrets(ws)).map((s) => s.name)).toEqual(['OTHER']);
      });

      it('lists newest first with paging, and re-encrypts in place', async () => {
        const ws = await workspace();
        for (const [index, name] of ['A', 'B', 'C'].entries()) await store.putWorkspaceSecret(wsSecret(ws, name, T0 + index));
        const first = await store.listWorkspaceSecrets(ws, { limit: 2 });
        expect(first.items.map((s) => s.name)).toEqual(['C', 'B']);
        const rest = await store.listWorkspaceSecrets(ws, { limit: 2, cursor: first.nextCursor ?? '' });
        expect(rest).toEqual({ items: [expect.objectContaining({ name: 'A' })], nextCursor: null });
        await store.reencryptWorkspaceSecrets([{ workspaceId: ws, name: 'B', ciphertext: 'v2:rewrapped' }]);
        expect((await store.getWorkspaceSecrets(ws, ['B']))[0]?.ciphertext).toBe('v2:rewrapped');
        expect((await store.listAllWorkspaceSecrets()).filter((s) => s.workspaceId === ws)).toHaveLength(3);
      });
    });

    describe('ingest', () => {
      it('writes the event and its queued run', async () => {
        const { ws, wf } = await workflow();
        const record = ingestRecord(ws, wf, { maxAttempts: 5, body: { text: 'zero \u0000 byte', emoji: '✓' } });
        expect(await store.ingest(record, T0)).toEqual(accepted(record));
        expect(await store.getEvent(ws, record.event.id)).toEqual({
          id: record.event.id, workspaceId: ws, workflowId: wf, workflowVersion: 1, receivedAt: T0, test: false,
          headers: { 'content-type': 'application/json', 'x-request-id': 'abc' }, body: { text: 'zero \u0000 byte', emoji: '✓' },
          meta: { method: 'POST', sourceIp: '203.0.113.7' }, idempotencyKey: null,
        });
        expect(await store.getRun(ws, record.run?.id ?? '')).toEqual({
          id: record.run?.id, workspaceId: ws, workflowId: wf, workflowVersion: 1, eventId: record.event.id, status: 'queued',
          attempts: 0, maxAttempts: 5, createdAt: T0, availableAt: T0, startedAt: null, finishedAt: null, leaseOwner: null,
          leaseExpiresAt: null, lastError: null, replayOf: null,
        });
        // Reads are scoped to the workspace.
        expect(await store.getEvent(await workspace(), record.event.id)).toBeNull();
        expect(await store.getRun(await workspace(), record.run?.id ?? '')).toBeNull();
      });

      it('writes a test event without a run', async () => {
        const { ws, wf } = await workflow();
        const record = ingestRecord(ws, wf, { test: true });
        expect(await store.ingest(record, T0)).toEqual({ duplicate: false, eventId: record.event.id, runId: null });
        expect(await store.getEvent(ws, record.event.id)).toMatchObject({ test: true });
        expect((await store.listRuns(ws, wf, {}, { limit: 10 })).items).toEqual([]);
      });

      it('writes a filtered event without a run, and lists events by filtered', async () => {
        const { ws, wf } = await workflow();
        const passed = ingestRecord(ws, wf);
        const filtered = ingestRecord(ws, wf, { receivedAt: T0 + 1 });
        filtered.event.filtered = true;
        filtered.run = null;
        await store.ingest(passed, T0);
        expect(await store.ingest(filtered, T0 + 1)).toEqual({ duplicate: false, eventId: filtered.event.id, runId: null });
        expect(await store.getEvent(ws, filtered.event.id)).toMatchObject({ filtered: true, test: false });
        expect(await store.getEvent(ws, passed.event.id)).not.toHaveProperty('filtered');
        expect((await store.listEvents(ws, wf, { filtered: true }, { limit: 10 })).items.map((e) => e.id)).toEqual([filtered.event.id]);
        expect((await store.listEvents(ws, wf, { filtered: false }, { limit: 10 })).items.map((e) => e.id)).toEqual([passed.event.id]);
        expect((await store.listEvents(ws, wf, {}, { limit: 10 })).items).toHaveLength(2);
        expect((await store.listRuns(ws, wf, {}, { limit: 10 })).items.map((r) => r.id)).toEqual([passed.run?.id]);
      });

      it('answers a repeated idempotency key with the first delivery until the key expires', async () => {
        const { ws, wf } = await workflow();
        const first = ingestRecord(ws, wf, { key: 'delivery-1', receivedAt: T0, keyExpiresAt: T0 + 1000 });
        expect(await store.ingest(first, T0)).toEqual(accepted(first));

        const retry = ingestRecord(ws, wf, { key: 'delivery-1', receivedAt: T0 + 500, keyExpiresAt: T0 + 1500 });
        expect(await store.ingest(retry, T0 + 500)).toEqual({ duplicate: true, eventId: first.event.id, runId: first.run?.id });
        expect(await store.getEvent(ws, retry.event.id)).toBeNull();
        expect(await store.getRun(ws, retry.run?.id ?? '')).toBeNull();

        // `expiresAt` itself is past the window: the key is free again.
        const late = ingestRecord(ws, wf, { key: 'delivery-1', receivedAt: T0 + 1000, keyExpiresAt: T0 + 3000 });
        expect(await store.ingest(late, T0 + 1000)).toEqual(accepted(late));
        const lateRetry = ingestRecord(ws, wf, { key: 'delivery-1', receivedAt: T0 + 2500 });
        expect(await store.ingest(lateRetry, T0 + 2500)).toEqual({ duplicate: true, eventId: late.event.id, runId: late.run?.id });
        expect((await store.listRuns(ws, wf, {}, { limit: 10 })).items.map((r) => r.id).sort()).toEqual([first.run?.id, late.run?.id].sort());
      });

      it('keeps idempotency keys per workflow', async () => {
        const { ws, wf } = await workflow();
        const other = workflowRecord(ws);
        await store.createWorkflow(other, []);
        const here = ingestRecord(ws, wf, { key: 'same' });
        const there = ingestRecord(ws, other.id, { key: 'same' });
        expect(await store.ingest(here, T0)).toEqual(accepted(here));
        expect(await store.ingest(there, T0)).toEqual(accepted(there));
      });

      it('deduplicates test events too (no run to point at)', async () => {
        const { ws, wf } = await workflow();
        const first = ingestRecord(ws, wf, { test: true, key: 'test-1' });
        await store.ingest(first, T0);
        expect(await store.ingest(ingestRecord(ws, wf, { test: true, key: 'test-1' }), T0 + 1)).toEqual({ duplicate: true, eventId: first.event.id, runId: null });
      });

      it('commits 500 concurrent calls without losing or mixing results', async () => {
        const { ws, wf } = await workflow();
        // 400 distinct deliveries, then 50 keys each delivered twice back to back.
        const records = Array.from({ length: 500 }, (_, i) =>
          i < 400 ? ingestRecord(ws, wf, { receivedAt: T0 + i }) : ingestRecord(ws, wf, { receivedAt: T0 + i, key: `pair-${Math.floor((i - 400) / 2)}` }));
        const results = await Promise.all(records.map((record) => store.ingest(record, record.event.receivedAt)));

        const expected = records.map((record, i) => {
          if (i < 400 || i % 2 === 0) return accepted(record);
          const winner = records[i - 1] as IngestRecord; // the earlier call of the pair wins
          return { duplicate: true, eventId: winner.event.id, runId: winner.run?.id ?? null };
        });
        expect(results).toEqual(expected);

        const acceptedRecords = records.filter((_, i) => i < 400 || i % 2 === 0);
        const runs = (await store.listRuns(ws, wf, {}, { limit: 1000 })).items;
        expect(runs).toHaveLength(450);
        const eventOfRun = new Map(runs.map((run) => [run.id, run.eventId]));
        for (const record of acceptedRecords) expect(eventOfRun.get(record.run?.id ?? '')).toBe(record.event.id);
        expect((await store.listEvents(ws, wf, {}, { limit: 1000 })).items).toHaveLength(450);
      });
    });

    describe('events and rejected calls', () => {
      it('lists events newest first, filtered by test/real, with paging', async () => {
        const { ws, wf } = await workflow();
        const records = [0, 1, 2, 3, 4].map((i) => ingestRecord(ws, wf, { receivedAt: T0 + i * 10, test: i % 2 === 1 }));
        for (const record of records) await store.ingest(record, record.event.receivedAt);
        const ids = (indexes: number[]): string[] => indexes.map((i) => (records[i] as IngestRecord).event.id);

        expect((await store.listEvents(ws, wf, { test: true }, { limit: 10 })).items.map((e) => e.id)).toEqual(ids([3, 1]));
        expect((await store.listEvents(ws, wf, { test: false }, { limit: 10 })).items.map((e) => e.id)).toEqual(ids([4, 2, 0]));

        const seen: string[] = [];
        let cursor: string | undefined;
        const pageSizes: number[] = [];
        do {
          const page = await store.listEvents(ws, wf, {}, { limit: 2, cursor });
          seen.push(...page.items.map((e) => e.id));
          pageSizes.push(page.items.length);
          cursor = page.nextCursor ?? undefined;
        } while (cursor !== undefined);
        expect(pageSizes).toEqual([2, 2, 1]);
        expect(seen).toEqual(ids([4, 3, 2, 1, 0]));
      });

      it('pages through items with equal times without losing or repeating any', async () => {
        const { ws, wf } = await workflow();
        const records = [0, 1, 2].map(() => ingestRecord(ws, wf, { receivedAt: T0 }));
        for (const record of records) await store.ingest(record, T0);
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.listEvents(ws, wf, {}, { limit: 1, cursor });
          seen.push(...page.items.map((e) => e.id));
          cursor = page.nextCursor ?? undefined;
        } while (cursor !== undefined);
        expect([...seen].sort()).toEqual(records.map((r) => r.event.id).sort());
        expect(seen).toHaveLength(3);
      });

      it('records rejected calls and lists them newest first', async () => {
        const { ws, wf } = await workflow();
        const calls = [0, 1, 2].map((i) => ({
          id: newId('rej'), workspaceId: ws, workflowId: wf, receivedAt: T0 + i, status: i === 2 ? 429 : 401,
          reason: i === 2 ? 'rate limited' : 'bad signature', sourceIp: '198.51.100.9', bodyBytes: i === 0 ? null : 120,
          userAgent: i === 1 ? null : `curl/8.${i}`,
        }));
        for (const call of calls) await store.recordRejectedCall(call);
        const first = await store.listRejectedCalls(ws, wf, { limit: 2 });
        expect(first.items).toEqual([calls[2], calls[1]]);
        const second = await store.listRejectedCalls(ws, wf, { limit: 2, cursor: first.nextCursor ?? undefined });
        expect(second).toEqual({ items: [calls[0]], nextCursor: null });
      });
    });

    describe('webhook stats', () => {
      it('sums the counts every node adds, and reads them per workflow and per workspace since a minute', async () => {
        const { ws, wf } = await workflow();
        const row = (over: Partial<WebhookStatRow>): WebhookStatRow => ({
          workspaceId: ws, workflowId: wf, minute: T0, outcome: 'accepted', status: 200, latencyBucket: 3, count: 1, ...over,
        });
        // Two nodes flush the same key; one adds a refusal; the workspace gets a call to an unknown id.
        await store.addWebhookStats([row({ count: 5 }), row({ outcome: 'invalid_key', status: 401, latencyBucket: 0, count: 2 })]);
        await store.addWebhookStats([row({ count: 3 }), row({ minute: T0 + 60_000, count: 1 })]);
        await store.addWebhookStats([row({ workflowId: '', outcome: 'not_found', status: 404, count: 4 })]);
        await store.addWebhookStats([]);
        const sort = (rows: WebhookStatRow[]) => [...rows].sort((a, b) => `${a.workflowId}${a.minute}${a.outcome}`.localeCompare(`${b.workflowId}${b.minute}${b.outcome}`));
        expect(sort(await store.listWebhookStats(ws, wf, T0))).toEqual([
          row({ count: 8 }),
          row({ outcome: 'invalid_key', status: 401, latencyBucket: 0, count: 2 }),
          row({ minute: T0 + 60_000, count: 1 }),
        ]);
        expect(await store.listWebhookStats(ws, wf, T0 + 60_000)).toEqual([row({ minute: T0 + 60_000, count: 1 })]);
        const all = await store.listWebhookStats(ws, null, T0);
        expect(all.reduce((sum, r) => sum + r.count, 0)).toBe(15);
        expect(all.filter((r) => r.workflowId === '')).toEqual([row({ workflowId: '', outcome: 'not_found', status: 404, count: 4 })]);
        expect(await store.listWebhookStats(await workspace(), null, 0)).toEqual([]);
      });
    });

    describe('queue', () => {
      /** A workflow in a fresh queue window and a way to queue runs on it. */
      async function queueFixture(maxAttempts = 3): Promise<{ ws: string; wf: string; base: number; enqueue: (at?: number) => Promise<IngestRecord> }> {
        const base = nextWindow();
        const { ws, wf } = await workflow(base);
        const enqueue = async (at = base): Promise<IngestRecord> => {
          const record = ingestRecord(ws, wf, { receivedAt: at, maxAttempts });
          await store.ingest(record, at);
          return record;
        };
        return { ws, wf, base, enqueue };
      }
      const runIdOf = (record: IngestRecord): string => record.run?.id ?? '';

      it('resumes a failed run as a new attempt that keeps its succeeded steps, and keeps each step\'s earlier attempts', async () => {
        const { ws, base, enqueue } = await queueFixture(1);
        const record = await enqueue(base);
        const runId = runIdOf(record);
        const [claimed] = await store.claimRuns({ workerId: 'w1', limit: 1, leaseMs: 60_000, now: base });
        const ref = { runId, attempt: 1, workerId: 'w1' };
        expect(claimed?.run.id).toBe(runId);
        expect(await store.checkpointStep(ref, stepResult(runId, 'ship', 0, 1, 'succeeded', base + 1))).toBe(true);
        expect(await store.checkpointStep(ref, { ...stepResult(runId, 'notify', 1, 1, 'failed', base + 2), error: 'HTTP 503' })).toBe(true);
        expect(await store.failRun(ref, 'HTTP 503', null, base + 3)).toBe(true);
        await expect(store.resumeRun(ws, 'run_unknown', { latestVersion: false, now: base + 4 })).resolves.toBeNull();

        const resumed = await store.resumeRun(ws, runId, { latestVersion: false, now: base + 10 });
        expect(resumed).toMatchObject({ id: runId, status: 'queued', attempts: 1, maxAttempts: 2, finishedAt: null, availableAt: base + 10, workflowVersion: 1 });
        await expect(store.resumeRun(ws, runId, { latestVersion: false, now: base + 11 })).rejects.toMatchObject({ code: 'HOOKFLOW_ERR_CONFLICT' });

        const [again] = await store.claimRuns({ workerId: 'w2', limit: 1, leaseMs: 60_000, now: base + 10 });
        expect(again?.run).toMatchObject({ id: runId, attempts: 2 });
        expect(again?.finishedSteps.map((step) => step.stepId)).toEqual(['ship']);
        const ref2 = { runId, attempt: 2, workerId: 'w2' };
        expect(await store.completeRun(ref2, base + 20, stepResult(runId, 'notify', 1, 2, 'succeeded', base + 15))).toBe(true);
        const steps = await store.listStepResults(runId);
        expect(steps.map((step) => [step.stepId, step.attempt, step.status])).toEqual([['ship', 1, 'succeeded'], ['notify', 2, 'succeeded']]);
        expect(steps[0]?.earlierAttempts).toEqual([]);
        expect(steps[1]?.earlierAttempts).toEqual([{ attempt: 1, status: 'failed', startedAt: base + 2, finishedAt: expect.any(Number), error: 'HTTP 503' }]);
      });

      it('selects runs for a bulk job and keeps the job\'s progress; a cancelled job takes no more progress', async () => {
        const { ws, wf, base, enqueue } = await queueFixture(1);
        const records = [await enqueue(base), await enqueue(base + 10), await enqueue(base + 20)];
        const ids = records.map(runIdOf);
        for (const [i, id] of ids.entries()) {
          await store.claimRuns({ workerId: 'w1', limit: 1, leaseMs: 60_000, now: base + 30 + i });
          expect(await store.failRun({ runId: id, attempt: 1, workerId: 'w1' }, 'HTTP 503', null, base + 40)).toBe(true);
        }
        const all = { status: 'failed' as const, from: base, to: base + 20, notReplayed: true, limit: 10 };
        expect(await store.selectRuns(ws, wf, all)).toEqual(ids);
        expect(await store.selectRuns(ws, wf, { ...all, from: base + 5, limit: 1 })).toEqual([ids[1]]);
        await store.replayRun(ws, ids[0] as string, newId('run'), base + 50);
        expect(await store.selectRuns(ws, wf, all)).toEqual(ids.slice(1));
        expect(await store.selectRuns(ws, wf, { ...all, notReplayed: false })).toEqual(ids);

        const job = { id: newId('job'), workspaceId: ws, workflowId: wf, kind: 'resume' as const, status: 'running' as const, options: { ratePerSecond: 5 }, runIds: ids, done: 0, failed: 0, lastError: null, createdAt: base, updatedAt: base, finishedAt: null };
        await store.saveJob(job);
        expect(await store.getJob(ws, job.id)).toEqual(job);
        expect(await store.updateJobProgress(job.id, { done: 1, failed: 1, lastError: 'x', status: 'running', now: base + 1 })).toBe(true);
        expect(await store.getJob(ws, job.id)).toMatchObject({ done: 1, failed: 1, lastError: 'x', status: 'running', finishedAt: null, updatedAt: base + 1 });
        expect(await store.cancelJob(ws, job.id, base + 2)).toBe(true);
        expect(await store.cancelJob(ws, job.id, base + 3)).toBe(false);
        expect(await store.updateJobProgress(job.id, { done: 2, failed: 1, lastError: null, status: 'running', now: base + 4 })).toBe(false);
        expect(await store.getJob(ws, job.id)).toMatchObject({ status: 'cancelled', done: 1, finishedAt: base + 2 });
        expect((await store.listJobs(ws, { limit: 10 })).items.map((j) => j.id)).toEqual([job.id]);
        expect(await store.getJob('other-ws', job.id)).toBeNull();
      });

      it('claims due runs only, with a lease, and hands over what the run needs', async () => {
        const { ws, wf, base, enqueue } = await queueFixture();
        const due = await enqueue(base);
        const later = await enqueue(base + 60_000);

        const claimed = await store.claimRuns({ workerId: 'w1', limit: 10, leaseMs: 120_000, now: base + 1000 });
        expect(claimed.map((c) => c.run.id)).toEqual([runIdOf(due)]);
        const [first] = claimed;
        expect(first?.run).toMatchObject({ status: 'running', attempts: 1, leaseOwner: 'w1', leaseExpiresAt: base + 121_000, startedAt: base + 1000 });
        expect(first?.event).toMatchObject({ id: due.event.id, body: { order: 42, items: ['a', 'b'] }, headers: { 'x-request-id': 'abc' } });
        expect(first?.workflow).toMatchObject({ workspaceId: ws, id: wf, version: 1, definition: { steps: [{ id: 'notify', type: 'http' }] } });
        expect(first?.finishedSteps).toEqual([]);
        expect(await store.getRun(ws, runIdOf(due))).toMatchObject({ status: 'running', attempts: 1, leaseOwner: 'w1' });

        expect(await store.claimRuns({ workerId: 'w2', limit: 10, leaseMs: 30_000, now: base + 1000 })).toEqual([]);
        const next = await store.claimRuns({ workerId: 'w2', limit: 10, leaseMs: 30_000, now: base + 60_000 });
        expect(next.map((c) => c.run.id)).toEqual([runIdOf(later)]);
      });

      it('claims oldest first, at most `limit`', async () => {
        const { base, enqueue } = await queueFixture();
        const records = [await enqueue(base + 2), await enqueue(base), await enqueue(base + 1)];
        const claimed = await store.claimRuns({ workerId: 'w1', limit: 2, leaseMs: 1000, now: base + 10 });
        expect(claimed.map((c) => c.run.id)).toEqual([runIdOf(records[1] as IngestRecord), runIdOf(records[2] as IngestRecord)]);
      });

      it('extends the lease on heartbeat, so the run is not recovered', async () => {
        const { ws, base, enqueue } = await queueFixture();
        const record = await enqueue();
        const [claimed] = await store.claimRuns({ workerId: 'w1', limit: 1, leaseMs: 1000, now: base });
        const ref = { runId: runIdOf(record), attempt: claimed?.run.attempts ?? 0, workerId: 'w1' };
        expect(await store.heartbeat(ref, base + 10_000)).toBe(true);
        expect(await store.getRun(ws, ref.runId)).toMatchObject({ leaseExpiresAt: base + 10_000 });
        expect(await store.claimRuns({ workerId: 'w2', limit: 1, leaseMs: 1000, now: base + 5000 })).toEqual([]);
        expect(await store.getRun(ws, ref.runId)).toMatchObject({ status: 'running', attempts: 1, leaseOwner: 'w1' });
      });

      it('checkpoints steps and completes the run', async () => {
        const { ws, base, enqueue } = await queueFixture();
        const record = await enqueue();
        await store.claimRuns({ workerId: 'w1', limit: 1, leaseMs: 1000, now: base });
        const ref = { runId: runIdOf(record), attempt: 1, workerId: 'w1' };
        const steps = [stepResult(ref.runId, 'fetch', 0, 1, 'succeeded', base + 1), stepResult(ref.runId, 'summarise', 1, 1, 'succeeded', base + 2)];
        expect(await store.checkpointStep(ref, steps[1] as StepResultRecord)).toBe(true);
        expect(await store.checkpointStep(ref, steps[0] as StepResultRecord)).toBe(true);
        expect(await store.listStepResults(ref.runId)).toEqual(steps);

        expect(await store.completeRun(ref, base + 100)).toBe(true);
        expect(await store.getRun(ws, ref.runId)).toMatchObject({ status: 'succeeded', finishedAt: base + 100, leaseOwner: null, leaseExpiresAt: null, lastError: null });
        expect(await store.completeRun(ref, base + 101)).toBe(false);
      });

      it('retries a failed attempt at retryAt, then dead-letters when told to', async () => {
        const { ws, base, enqueue } = await queueFixture();
        const record = await enqueue();
        await store.claimRuns({ workerId: 'w1', limit: 1, leaseMs: 1000, now: base });
        expect(await store.failRun({ runId: runIdOf(record), attempt: 1, workerId: 'w1' }, 'HTTP 503', base + 10_000, base + 100)).toBe(true);
        expect(await store.getRun(ws, runIdOf(record))).toMatchObject({ status: 'queued', attempts: 1, availableAt: base + 10_000, lastError: 'HTTP 503', leaseOwner: null });

        expect(await store.claimRuns({ workerId: 'w1', limit: 1, leaseMs: 1000, now: base + 9999 })).toEqual([]);
        const [retry] = await store.claimRuns({ workerId: 'w2', limit: 1, leaseMs: 1000, now: base + 10_000 });
        expect(retry?.run).toMatchObject({ id: runIdOf(record), attempts: 2, leaseOwner: 'w2', startedAt: base });

        expect(await store.failRun({ runId: runIdOf(record), attempt: 2, workerId: 'w2' }, 'HTTP 400', null, base + 10_100)).toBe(true);
        expect(await store.getRun(ws, runIdOf(record))).toMatchObject({ status: 'failed', attempts: 2, finishedAt: base + 10_100, lastError: 'HTTP 400', leaseOwner: null });
      });

      it('fences a stale attempt out after its lease expired and the run was re-claimed', async () => {
        const { ws, base, enqueue } = await queueFixture();
        const record = await enqueue();
        await store.claimRuns({ workerId: 'w1', limit: 1, leaseMs: 1000, now: base });
        const [reclaimed] = await store.claimRuns({ workerId: 'w2', limit: 1, leaseMs: 60_000, now: base + 5000 });
        expect(reclaimed?.run).toMatchObject({ id: runIdOf(record), attempts: 2, leaseOwner: 'w2', leaseExpiresAt: base + 65_000 });

        const stale = { runId: runIdOf(record), attempt: 1, workerId: 'w1' };
        expect(await store.heartbeat(stale, base + 99_000)).toBe(false);
        expect(await store.checkpointStep(stale, stepResult(stale.runId, 'fetch', 0, 1, 'succeeded', base + 6000))).toBe(false);
        expect(await store.completeRun(stale, base + 6000)).toBe(false);
        expect(await store.failRun(stale, 'late', base + 7000, base + 6000)).toBe(false);
        expect(await store.failRun(stale, 'late', null, base + 6000)).toBe(false);
        expect(await store.releaseRun(stale)).toBe(false);
        // The same worker with the wrong attempt number is fenced too.
        expect(await store.heartbeat({ ...stale, workerId: 'w2' }, base + 99_000)).toBe(false);

        expect(await store.getRun(ws, stale.runId)).toMatchObject({ status: 'running', attempts: 2, leaseOwner: 'w2', leaseExpiresAt: base + 65_000, lastError: null });
        expect(await store.listStepResults(stale.runId)).toEqual([]);
      });

      it('dead-letters a run whose lease expired on its last attempt', async () => {
        const { ws, base, enqueue } = await queueFixture(1);
        const record = await enqueue();
        await store.claimRuns({ workerId: 'w1', limit: 1, leaseMs: 1000, now: base });
        expect(await store.claimRuns({ workerId: 'w2', limit: 1, leaseMs: 1000, now: base + 5000 })).toEqual([]);
        const run = await store.getRun(ws, runIdOf(record));
        expect(run).toMatchObject({ status: 'failed', attempts: 1, finishedAt: base + 5000, leaseOwner: null });
        expect(run?.lastError).toEqual(expect.any(String));
      });

      it('takes a released run back without using up the attempt', async () => {
        const { ws, base, enqueue } = await queueFixture();
        const record = await enqueue();
        await store.claimRuns({ workerId: 'w1', limit: 1, leaseMs: 1000, now: base });
        expect(await store.releaseRun({ runId: runIdOf(record), attempt: 1, workerId: 'w1' })).toBe(true);
        expect(await store.getRun(ws, runIdOf(record))).toMatchObject({ status: 'queued', attempts: 0, leaseOwner: null, leaseExpiresAt: null });
        const [again] = await store.claimRuns({ workerId: 'w2', limit: 1, leaseMs: 1000, now: base + 1 });
        expect(again?.run).toMatchObject({ id: runIdOf(record), attempts: 1, leaseOwner: 'w2' });
      });

      it('hands the steps finished by earlier attempts to the next attempt', async () => {
        const { base, enqueue } = await queueFixture();
        const record = await enqueue();
        await store.claimRuns({ workerId: 'w1', limit: 1, leaseMs: 1000, now: base });
        const ref = { runId: runIdOf(record), attempt: 1, workerId: 'w1' };
        const done = stepResult(ref.runId, 'fetch', 0, 1, 'succeeded', base + 1);
        await store.checkpointStep(ref, done);
        await store.checkpointStep(ref, stepResult(ref.runId, 'post', 1, 1, 'failed', base + 2));
        await store.failRun(ref, 'HTTP 500', base + 100, base + 3);
        const [retry] = await store.claimRuns({ workerId: 'w2', limit: 1, leaseMs: 1000, now: base + 100 });
        // The failed step is not finished: the retry runs it again.
        expect(retry?.finishedSteps).toEqual([done]);
      });

      it('counts skipped steps and failures continued past as finished, keeping their condition', async () => {
        const { base, enqueue } = await queueFixture();
        const record = await enqueue();
        await store.claimRuns({ workerId: 'w1', limit: 1, leaseMs: 1000, now: base });
        const ref = { runId: runIdOf(record), attempt: 1, workerId: 'w1' };
        const skipped: StepResultRecord = {
          ...stepResult(ref.runId, 'pr-only', 0, 1, 'succeeded', base + 1),
          status: 'skipped', output: null, memoryWrites: {}, usage: null, condition: { expression: 'headers.event == "pr"', value: false },
        };
        const continued: StepResultRecord = { ...stepResult(ref.runId, 'notify', 1, 1, 'failed', base + 2), continued: true };
        const failed = stepResult(ref.runId, 'post', 2, 1, 'failed', base + 3);
        for (const step of [skipped, continued, failed]) await store.checkpointStep(ref, step);
        await store.failRun(ref, 'HTTP 500', base + 100, base + 4);
        const [retry] = await store.claimRuns({ workerId: 'w2', limit: 1, leaseMs: 1000, now: base + 100 });
        expect(retry?.finishedSteps).toEqual([skipped, continued]);
        expect(await store.listStepResults(ref.runId)).toEqual([skipped, continued, failed]);
        expect(await store.countStepsSince(record.event.workspaceId, record.event.workflowId, base - 1)).toEqual({ succeeded: 0, failed: 2, skipped: 1 });
        expect(await store.countStepsSince(record.event.workspaceId, record.event.workflowId, base + 1_000_000)).toEqual({ succeeded: 0, failed: 0, skipped: 0 });
      });

      it('a deleted workflow takes its runs, events, steps, stats, keys, usage and jobs with it; a new one of that id sees none', async () => {
        const { ws, wf, base, enqueue } = await queueFixture(1);
        const record = await enqueue();
        const keyed = ingestRecord(ws, wf, { receivedAt: base + 1, maxAttempts: 1 });
        await store.ingest({ ...keyed, idempotency: { key: 'delivery-1', expiresAt: base + HOUR } }, base + 1);
        const [claimed] = await store.claimRuns({ workerId: 'w1', limit: 1, leaseMs: 60_000, now: base + 2 });
        const ref = { runId: claimed?.run.id ?? '', attempt: 1, workerId: 'w1' };
        expect(await store.checkpointStep(ref, stepResult(ref.runId, 'ship', 0, 1, 'succeeded', base + 3))).toBe(true);
        await store.addWebhookStats([{ workspaceId: ws, workflowId: wf, minute: base, outcome: 'accepted', status: 200, latencyBucket: 0, count: 2 }]);
        await store.addLlmUsage(ws, wf, '2096-10-01', 500);
        await store.addLlmUsage(ws, 'other-workflow', '2096-10-01', 70);
        expect(await store.getWorkspaceLlmUsage(ws, '2096-10-01')).toBe(570);
        await store.recordRejectedCall({ id: newId('rej'), workspaceId: ws, workflowId: wf, receivedAt: base, status: 401, reason: 'bad key', sourceIp: '127.0.0.1', bodyBytes: 2, userAgent: null });
        await store.saveJob({ id: newId('job'), workspaceId: ws, workflowId: wf, kind: 'replay', status: 'running', options: {}, runIds: [ref.runId], done: 0, failed: 0, lastError: null, createdAt: base, updatedAt: base, finishedAt: null });

        expect(await store.deleteWorkflow(ws, wf, base + 4)).toBe(true);
        // The attempt under way finds its run gone and cannot write it back.
        expect(await store.completeRun(ref, base + 5)).toBe(false);
        const v1 = workflowRecord(ws, { id: wf, createdAt: base + 6, updatedAt: base + 6 });
        await store.createWorkflow(v1, []);
        expect(await store.getWorkflow(ws, wf)).toMatchObject({ version: 1 });
        expect(await store.getRun(ws, runIdOf(record))).toBeNull();
        expect(await store.getRun(ws, ref.runId)).toBeNull();
        expect(await store.getEvent(ws, record.event.id)).toBeNull();
        expect(await store.listStepResults(ref.runId)).toEqual([]);
        expect((await store.listRuns(ws, wf, {}, { limit: 10 })).items).toEqual([]);
        expect((await store.listEvents(ws, wf, {}, { limit: 10 })).items).toEqual([]);
        expect((await store.listRejectedCalls(ws, wf, { limit: 10 })).items).toEqual([]);
        expect(await store.listWebhookStats(ws, wf, 0)).toEqual([]);
        expect(await store.getLlmUsage(ws, wf, '2096-10-01')).toBe(0);
        expect(await store.getWorkspaceLlmUsage(ws, '2096-10-01')).toBe(70);
        expect((await store.listJobs(ws, { limit: 10 })).items).toEqual([]);
        expect(await store.listRunsSince(ws, wf, 0, 10)).toEqual([]);
        // The old delivery id is free again: the new workflow runs it.
        const again = ingestRecord(ws, wf, { receivedAt: base + 7, maxAttempts: 1 });
        expect(await store.ingest({ ...again, idempotency: { key: 'delivery-1', expiresAt: base + HOUR } }, base + 7)).toMatchObject({ duplicate: false });
        await expect(store.resumeRun(ws, runIdOf(record), { latestVersion: false, now: base + 8 })).resolves.toBeNull();
      });

      it('replays a run as a new queued run of the same event on the latest version', async () => {
        const { ws, wf, base, enqueue } = await queueFixture();
        const record = await enqueue();
        await store.claimRuns({ workerId: 'w1', limit: 1, leaseMs: 1000, now: base });
        await store.completeRun({ runId: runIdOf(record), attempt: 1, workerId: 'w1' }, base + 10);
        const v1 = await store.getWorkflow(ws, wf);
        await store.updateWorkflow({ ...(v1 as WorkflowRecord), definition: { steps: ['v2'] }, updatedAt: base + 20 }, [], []);

        const replayId = newId('run');
        const replay = await store.replayRun(ws, runIdOf(record), replayId, base + 30);
        expect(replay).toEqual({
          id: replayId, workspaceId: ws, workflowId: wf, workflowVersion: 2, eventId: record.event.id, status: 'queued', attempts: 0,
          maxAttempts: 3, createdAt: base + 30, availableAt: base + 30, startedAt: null, finishedAt: null, leaseOwner: null,
          leaseExpiresAt: null, lastError: null, replayOf: runIdOf(record),
        });
        expect(await store.getRun(ws, replayId)).toEqual(replay);
        const [claimed] = await store.claimRuns({ workerId: 'w1', limit: 1, leaseMs: 1000, now: base + 30 });
        expect(claimed?.workflow).toMatchObject({ version: 2, definition: { steps: ['v2'] } });
        expect(claimed?.event.id).toBe(record.event.id);
        expect(await store.replayRun(ws, newId('run'), newId('run'), base + 40)).toBeNull();
      });

      it('reports when the next queued run becomes due', async () => {
        const { base, enqueue } = await queueFixture();
        const record = await enqueue(base);
        // This window is earlier than any run other tests left queued.
        expect(await store.nextDueAt()).toBe(base);
        await store.claimRuns({ workerId: 'w1', limit: 1, leaseMs: 1000, now: base });
        expect(await store.nextDueAt()).not.toBe(base);
        await store.failRun({ runId: runIdOf(record), attempt: 1, workerId: 'w1' }, 'later', base + 5000, base + 1);
        expect(await store.nextDueAt()).toBe(base + 5000);
      });

      it('prunes old finished runs with their events and steps, never queued ones', async () => {
        const { ws, wf, base, enqueue } = await queueFixture();
        const finished = await enqueue(base);
        const queued = await enqueue(base + 1);
        const testEvent = ingestRecord(ws, wf, { test: true, receivedAt: base });
        await store.ingest(testEvent, base);
        const recent = ingestRecord(ws, wf, { test: true, receivedAt: base + HOUR });
        await store.ingest(recent, base + HOUR);
        await store.recordRejectedCall({ id: newId('rej'), workspaceId: ws, workflowId: wf, receivedAt: base, status: 401, reason: 'bad key', sourceIp: '::1', bodyBytes: null, userAgent: null });
        const stat = { workspaceId: ws, workflowId: wf, outcome: 'accepted', status: 200, latencyBucket: 1, count: 1 };
        await store.addWebhookStats([{ ...stat, minute: base }, { ...stat, minute: base + HOUR }]);
        const testRun = (createdAt: number) => ({ id: newId('test'), workspaceId: ws, workflowId: wf, kind: 'single' as const, mode: 'mock' as const, status: 'succeeded' as const, eventId: null, baselineRunId: null, createdAt, result: {} });
        const [oldTestRun, newTestRun] = [testRun(base), testRun(base + HOUR)];
        for (const record of [oldTestRun, newTestRun]) await store.saveTestRun(record, 10);

        await store.claimRuns({ workerId: 'w1', limit: 1, leaseMs: 1000, now: base });
        const ref = { runId: runIdOf(finished), attempt: 1, workerId: 'w1' };
        await store.checkpointStep(ref, stepResult(ref.runId, 'fetch', 0, 1, 'succeeded', base));
        await store.completeRun(ref, base + 2);

        expect(await store.prune(base + 10, base + 10)).toEqual({ runs: 1, events: 2 });
        expect(await store.getRun(ws, runIdOf(finished))).toBeNull();
        expect(await store.getEvent(ws, finished.event.id)).toBeNull();
        expect(await store.listStepResults(runIdOf(finished))).toEqual([]);
        expect(await store.getEvent(ws, testEvent.event.id)).toBeNull();
        expect(await store.getRun(ws, runIdOf(queued))).toMatchObject({ status: 'queued' });
        expect(await store.getEvent(ws, queued.event.id)).not.toBeNull();
        expect(await store.getEvent(ws, recent.event.id)).not.toBeNull();
        expect((await store.listRejectedCalls(ws, wf, { limit: 10 })).items).toEqual([]);
        expect(await store.listWebhookStats(ws, wf, 0)).toEqual([{ ...stat, minute: base + HOUR }]);
        expect(await store.getTestRun(ws, oldTestRun.id)).toBeNull();
        expect(await store.getTestRun(ws, newTestRun.id)).not.toBeNull();
      });

      it('shows the queue depth and the oldest due run', async () => {
        const { base, enqueue } = await queueFixture();
        const before = await store.queueSnapshot(base);
        await enqueue(base);
        await enqueue(base + 500);
        const after = await store.queueSnapshot(base + 100);
        expect(after.depth - before.depth).toBe(2);
        // This window is earlier than every run other tests left queued: only its own are due.
        expect(after.oldestDueAt).toBe(base);
        expect((await store.queueSnapshot(base - 1)).oldestDueAt).toBeNull();
      });

      it('lists runs created since a time, newest first, and filters runs by status', async () => {
        const { ws, wf, base, enqueue } = await queueFixture();
        const records = [await enqueue(base), await enqueue(base + 10), await enqueue(base + 20)];
        const since = await store.listRunsSince(ws, wf, base + 10, 10);
        expect(since.map((r) => r.id)).toEqual([runIdOf(records[2] as IngestRecord), runIdOf(records[1] as IngestRecord)]);
        expect(await store.listRunsSince(ws, wf, base + 10, 1)).toHaveLength(1);
        // The whole workspace: every workflow's runs.
        const other = workflowRecord(ws, { createdAt: base, updatedAt: base });
        await store.createWorkflow(other, []);
        const otherRun = ingestRecord(ws, other.id, { receivedAt: base + 15 });
        await store.ingest(otherRun, base + 15);
        expect((await store.listRunsSince(ws, null, base + 10, 10)).map((r) => r.id)).toEqual([
          runIdOf(records[2] as IngestRecord), runIdOf(otherRun), runIdOf(records[1] as IngestRecord),
        ]);
        expect(await store.listRunsSince(ws, wf, base + 10, 10)).toHaveLength(2);

        await store.claimRuns({ workerId: 'w1', limit: 1, leaseMs: 1000, now: base });
        expect((await store.listRuns(ws, wf, { status: 'running' }, { limit: 10 })).items.map((r) => r.id)).toEqual([runIdOf(records[0] as IngestRecord)]);
        const queued = await store.listRuns(ws, wf, { status: 'queued' }, { limit: 1 });
        expect(queued.items.map((r) => r.id)).toEqual([runIdOf(records[2] as IngestRecord)]);
        const rest = await store.listRuns(ws, wf, { status: 'queued' }, { limit: 1, cursor: queued.nextCursor ?? undefined });
        expect(rest).toEqual({ items: [expect.objectContaining({ id: runIdOf(records[1] as IngestRecord) })], nextCursor: null });
      });

      it('answers ping, is ready when idle, and reports an empty backlog against its limit', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
        expect(await store.readiness(10_000)).toEqual({ ready: true });
        expect(store.pendingWrites()).toMatchObject({ queued: 0, limit: expect.any(Number) });
      });

      it('keeps settings: the first claim wins, a later claim returns it, put replaces it', async () => {
        const name = `setting_${newId('s')}`;
        expect(await store.getSetting(name)).toBeNull();
        expect(await store.claimSetting(name, 'first')).toBe('first');
        expect(await store.claimSetting(name, 'second')).toBe('first');
        expect(await store.getSetting(name)).toBe('first');
        await store.putSetting(name, 'rotated');
        expect(await store.getSetting(name)).toBe('rotated');
      });
    });
    // Last: its runs sit in the past of every other queue test's window.
    describeAlertContract(() => store, () => workspace());
  });
}
