import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newId } from '../src/store/ids.js';
import { SqliteStore, SQLITE_FILE, type SqliteStoreOptions } from '../src/store/sqlite/sqlite-store.js';
import type { IngestRecord } from '../src/store/store.js';

/** The SQLite main-thread ingest path (main-ingest.ts): which webhooks take it, and the WAL it leaves. */
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function open(extra: Partial<SqliteStoreOptions>): Promise<{ store: SqliteStore; dir: string; syncs: () => number }> {
  const dir = mkdtempSync(join(tmpdir(), 'hookflow-ingest-path-'));
  dirs.push(dir);
  let syncs = 0;
  const store = await SqliteStore.open({
    dataDir: dir, synchronous: 'FULL', busyTimeoutMs: 1000, maxBatch: 1000, maxPending: 100_000, writeTimeoutMs: 10_000,
    ingestObserver: { syncStarting: () => undefined, synced: () => void (syncs += 1) },
    ...extra,
  });
  const now = Date.now();
  await store.createWorkspace({ id: 'ws', name: 'W', createdAt: now });
  await store.createWorkflow({ workspaceId: 'ws', id: 'wf', version: 1, name: 'W', enabled: true, definition: {}, createdAt: now, updatedAt: now }, []);
  return { store, dir, syncs: () => syncs };
}

function webhook(bodyChars: number): IngestRecord {
  const receivedAt = Date.now();
  return {
    event: {
      id: newId('evt', receivedAt), workspaceId: 'ws', workflowId: 'wf', workflowVersion: 1, receivedAt, test: false,
      headersJson: '{}', bodyJson: JSON.stringify({ note: 'x'.repeat(bodyChars) }), metaJson: '{}', idempotencyKey: null,
    },
    run: { id: newId('run', receivedAt), maxAttempts: 3 },
    idempotency: null,
  };
}

describe('SQLite ingest paths', () => {
  it('commits a small webhook on the main thread (answered after a WAL fsync) and a big one on the writer thread', async () => {
    const { store, syncs } = await open({});
    try {
      const big = await store.ingest(webhook(300 * 1024), Date.now());
      expect(syncs()).toBe(0);
      const small = await store.ingest(webhook(100), Date.now());
      expect(syncs()).toBe(1);
      for (const result of [big, small]) expect(await store.getRun('ws', result.runId as string)).toMatchObject({ status: 'queued' });
    } finally {
      await store.close();
    }
  });

  it('with HOOKFLOW_SQLITE_INGEST_PATH=writer, no webhook commits on the main thread', async () => {
    const { store, syncs } = await open({ ingestPath: 'writer' });
    try {
      const result = await store.ingest(webhook(100), Date.now());
      expect(syncs()).toBe(0);
      expect(await store.getRun('ws', result.runId as string)).toMatchObject({ status: 'queued' });
    } finally {
      await store.close();
    }
  });

  it('checkpoints and restarts the WAL every HOOKFLOW_SQLITE_CHECKPOINT_ROWS webhooks, so it stays small, and loses nothing', async () => {
    const { store, dir } = await open({ checkpointEveryRows: 200 });
    const wal = join(dir, `${SQLITE_FILE}-wal`);
    // The WAL header's checkpoint sequence number goes up by one at each restart.
    const restarts = (): number => readFileSync(wal).readUInt32BE(12);
    const before = restarts();
    const ids: string[] = [];
    try {
      let next = 0;
      await Promise.all(Array.from({ length: 32 }, async () => {
        while (next < 3000) {
          next += 1;
          ids.push((await store.ingest(webhook(900), Date.now())).runId as string);
        }
      }));
      // Each checkpoint runs when the writer thread has taken it; the last may still be under way.
      await store.ping();
      expect(restarts() - before).toBeGreaterThanOrEqual(5);
      // 3,000 webhooks of ~1 KB wrote far more than this; 200 between checkpoints need ~1 MB.
      expect(statSync(wal).size).toBeLessThan(4 * 1024 * 1024);
    } finally {
      await store.close();
    }
    const reopened = await SqliteStore.open({ dataDir: dir, synchronous: 'FULL', busyTimeoutMs: 1000, maxBatch: 1000, maxPending: 100_000, writeTimeoutMs: 10_000 });
    try {
      const missing: string[] = [];
      for (const id of ids) if ((await reopened.getRun('ws', id)) === null) missing.push(id);
      expect(missing).toEqual([]);
    } finally {
      await reopened.close();
    }
  });
});
