import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newId } from '../src/store/ids.js';
import { SqliteStore, type SqliteStoreOptions } from '../src/store/sqlite/sqlite-store.js';
import type { IngestRecord } from '../src/store/store.js';
import { describeStoreContract } from './store.contract.js';

const dirs: string[] = [];
function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hookflow-store-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const options = (dataDir: string): SqliteStoreOptions => ({
  dataDir, synchronous: 'FULL', busyTimeoutMs: 1000, maxBatch: 1000, maxPending: 100_000, writeTimeoutMs: 10_000,
});

describeStoreContract('SqliteStore', () => SqliteStore.open(options(freshDir())));

describe('SqliteStore only', () => {
  it('keeps data and idempotency across close and reopen', async () => {
    const dir = freshDir();
    const now = 4_000_000_000_000;
    const ws = newId('ws');
    const wf = newId('wf');
    const record = (eventId: string, runId: string): IngestRecord => ({
      event: {
        id: eventId, workspaceId: ws, workflowId: wf, workflowVersion: 1, receivedAt: now, test: false,
        headersJson: '{}', bodyJson: '{"n":1}', metaJson: '{}', idempotencyKey: 'delivery-7',
      },
      run: { id: runId, maxAttempts: 3 },
      idempotency: { key: 'delivery-7', expiresAt: now + 60_000 },
    });
    const first = record(newId('evt'), newId('run'));

    const before = await SqliteStore.open(options(dir));
    await before.createWorkspace({ id: ws, name: 'Acme', createdAt: now });
    await before.createWorkflow({ workspaceId: ws, id: wf, version: 1, name: 'W', enabled: true, definition: { steps: [] }, createdAt: now, updatedAt: now }, []);
    expect(await before.ingest(first, now)).toEqual({ duplicate: false, eventId: first.event.id, runId: first.run?.id });
    await before.close();

    const after = await SqliteStore.open(options(dir));
    try {
      expect(await after.getWorkflow(ws, wf)).toMatchObject({ version: 1, name: 'W' });
      expect(await after.getEvent(ws, first.event.id)).toMatchObject({ body: { n: 1 } });
      expect(await after.getRun(ws, first.run?.id ?? '')).toMatchObject({ status: 'queued' });
      const retry = record(newId('evt'), newId('run'));
      expect(await after.ingest(retry, now + 1000)).toEqual({ duplicate: true, eventId: first.event.id, runId: first.run?.id });
    } finally {
      await after.close();
    }
  });

  it('two processes starting on one fresh data dir at once both apply-or-find the migrations', async () => {
    // Each store migrates in its own writer thread, as two processes would; repeated because
    // the race it guards against is a matter of timing.
    for (let round = 0; round < 10; round++) {
      const dir = freshDir();
      const stores = await Promise.all([SqliteStore.open(options(dir)), SqliteStore.open(options(dir))]);
      await stores[0].createWorkspace({ id: 'ws', name: 'W', createdAt: 1 });
      expect(await stores[1].getWorkspace('ws')).toMatchObject({ id: 'ws' });
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it('commits at most HOOKFLOW_COMMIT_MAX_BATCH writes per transaction', async () => {
    const dir = freshDir();
    const store = await SqliteStore.open({ ...options(dir), maxBatch: 2 });
    try {
      const walBefore = commitsInWal(join(dir, 'hookflow.db-wal'));
      await Promise.all(Array.from({ length: 200 }, (_, i) => store.createWorkspace({ id: `ws-${i}`, name: 'W', createdAt: 1 })));
      expect(commitsInWal(join(dir, 'hookflow.db-wal')) - walBefore).toBeGreaterThanOrEqual(100);
    } finally {
      await store.close();
    }
  });

  it('a write that cannot be handed to the writer thread fails alone; the writes around it commit and later ones still do', async () => {
    const store = await SqliteStore.open(options(freshDir()));
    try {
      const now = 4_000_000_000_000;
      // Structured clone overflows on this; before, the throw escaped from the flush timer and ended the process.
      const deep = JSON.parse('['.repeat(10_000) + ']'.repeat(10_000)) as unknown;
      const results = await Promise.allSettled([
        store.createWorkspace({ id: 'before', name: 'B', createdAt: now }),
        store.createWorkflow({ workspaceId: 'before', id: 'wf', version: 1, name: 'W', enabled: true, definition: deep, createdAt: now, updatedAt: now }, []),
        store.createWorkspace({ id: 'after', name: 'A', createdAt: now }),
      ]);
      expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'HOOKFLOW_ERR_INTERNAL', message: expect.stringMatching(/could not be handed to the SQLite writer/) });
      // The writer's bookkeeping survived: it is idle, a new write goes straight over and commits.
      expect(store.pendingWrites()).toEqual({ queued: 0, urgent: 0, limit: 100_000 });
      await store.createWorkspace({ id: 'later', name: 'L', createdAt: now });
      expect(await store.getWorkspace('later')).toMatchObject({ id: 'later' });
      expect(await store.readiness(5000)).toEqual({ ready: true });
    } finally {
      await store.close();
    }
  });

  it('refuses ingests past HOOKFLOW_MAX_PENDING_WRITES, never a worker\'s writes, and says so in readiness', async () => {
    const store = await SqliteStore.open({ ...options(freshDir()), maxPending: 5 });
    try {
      const now = 4_000_000_000_000;
      await store.createWorkspace({ id: 'ws', name: 'W', createdAt: now });
      await store.createWorkflow({ workspaceId: 'ws', id: 'wf', version: 1, name: 'W', enabled: true, definition: { steps: [] }, createdAt: now, updatedAt: now }, []);
      await store.ingest(ingestRecord('ws', 'wf', now), now);
      const [claimed] = await store.claimRuns({ workerId: 'w1', limit: 1, leaseMs: 60_000, now });
      const ref = { runId: claimed!.run.id, attempt: 1, workerId: 'w1' };
      // 20 ingests in one turn: the first 5 wait for a commit, the other 15 are refused at once.
      const ingests = Array.from({ length: 20 }, () => store.ingest(ingestRecord('ws', 'wf', now), now));
      expect(store.pendingWrites()).toMatchObject({ queued: 5, limit: 5 });
      const readiness = await store.readiness(5000);
      // …while the worker's heartbeat and completion, issued with the cap reached, are taken.
      const worker = [store.heartbeat(ref, now + 120_000), store.completeRun(ref, now + 1)];
      expect(readiness).toEqual({ ready: false, reason: 'writer behind: 5 writes waiting for a commit (HOOKFLOW_MAX_PENDING_WRITES is 5)' });
      const settled = await Promise.allSettled(ingests);
      expect(settled.filter((result) => result.status === 'fulfilled')).toHaveLength(5);
      expect(settled.filter((result) => result.status === 'rejected').map((result) => (result as PromiseRejectedResult).reason.code)).toEqual(Array(15).fill('HOOKFLOW_ERR_STORAGE_UNAVAILABLE'));
      expect(await Promise.all(worker)).toEqual([true, true]);
      expect(await store.getRun('ws', ref.runId)).toMatchObject({ status: 'succeeded' });
      expect(await store.readiness(5000)).toEqual({ ready: true });
    } finally {
      await store.close();
    }
  });
});

function ingestRecord(workspaceId: string, workflowId: string, now: number): IngestRecord {
  return {
    event: { id: newId('evt'), workspaceId, workflowId, workflowVersion: 1, receivedAt: now, test: false, headersJson: '{}', bodyJson: '{}', metaJson: '{}', idempotencyKey: null },
    run: { id: newId('run'), maxAttempts: 3 },
    idempotency: null,
  };
}

/**
 * Transactions in a WAL file: frames of the current WAL (their salts match the header's) whose
 * header carries the database size after a commit (bytes 4-7 of the 24-byte frame header, zero
 * for the other frames of a transaction).
 */
function commitsInWal(file: string): number {
  const wal = readFileSync(file);
  if (wal.length < 32) return 0;
  const pageSize = wal.readUInt32BE(8);
  const salts = wal.subarray(16, 24);
  let commits = 0;
  for (let offset = 32; offset + 24 + pageSize <= wal.length; offset += 24 + pageSize) {
    if (!wal.subarray(offset + 8, offset + 16).equals(salts)) break;
    if (wal.readUInt32BE(offset + 4) !== 0) commits++;
  }
  return commits;
}
