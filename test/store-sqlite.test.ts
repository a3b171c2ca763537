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
});

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
