import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../src/store/ids.js';
import { POSTGRES_MIGRATIONS } from '../src/store/postgres/migrations.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import type { IngestRecord } from '../src/store/store.js';
import { createTestSchema, describeWithPostgres, type TestSchema } from './helpers/postgres.js';
import { describeStoreContract } from './store.contract.js';

const open = (connectionString: string): Promise<PostgresStore> => PostgresStore.open({ connectionString, maxPending: 100_000, writeTimeoutMs: 10_000 });

function runRecord(workspaceId: string, workflowId: string, receivedAt: number): IngestRecord {
  return {
    event: {
      id: newId('evt'), workspaceId, workflowId, workflowVersion: 1, receivedAt, test: false,
      headersJson: '{}', bodyJson: '{}', metaJson: '{}', idempotencyKey: null,
    },
    run: { id: newId('run'), maxAttempts: 3 },
    idempotency: null,
  };
}

await describeWithPostgres('PostgresStore', () => {
  let schema: TestSchema;
  beforeAll(async () => {
    schema = await createTestSchema();
  });
  afterAll(async () => {
    await schema?.drop();
  });

  describeStoreContract('PostgresStore', () => open(schema.connectionString));

  describe('PostgreSQL only', () => {
    // A schema of its own: these tests claim every due run in it.
    let own: TestSchema;
    const stores: PostgresStore[] = [];
    beforeAll(async () => {
      own = await createTestSchema();
    });
    afterAll(async () => {
      await Promise.all(stores.map((store) => store.close()));
      await own?.drop();
    });
    const openOwn = async (): Promise<PostgresStore> => {
      const store = await open(own.connectionString);
      stores.push(store);
      return store;
    };

    it('migrates once when several nodes start at once, and again finds nothing to do', async () => {
      const nodes = await Promise.all([openOwn(), openOwn(), openOwn()]);
      await expect(Promise.all(nodes.map((node) => node.ping()))).resolves.toHaveLength(3);
      await openOwn();
      const client = new pg.Client({ connectionString: own.connectionString });
      await client.connect();
      try {
        const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
        // Each migration exactly once, however many nodes raced to apply it.
        expect(rows.map((row) => row.version)).toEqual(POSTGRES_MIGRATIONS.map((migration) => migration.version));
      } finally {
        await client.end();
      }
    });

    it('never hands one run to two nodes claiming at once (SKIP LOCKED)', async () => {
      const [a, b] = [await openOwn(), await openOwn()];
      const now = 4_100_000_000_000;
      const ws = newId('ws');
      const wf = newId('wf');
      await a.createWorkspace({ id: ws, name: 'Race', createdAt: now });
      await a.createWorkflow({ workspaceId: ws, id: wf, version: 1, name: 'W', enabled: true, definition: {}, createdAt: now, updatedAt: now }, []);
      const records = Array.from({ length: 200 }, (_, i) => runRecord(ws, wf, now + i));
      await Promise.all(records.map((record) => a.ingest(record, now)));

      const claimedBy = new Map<string, string>();
      const worker = async (store: PostgresStore, workerId: string): Promise<void> => {
        for (;;) {
          const claimed = await store.claimRuns({ workerId, limit: 7, leaseMs: 600_000, now: now + 1000 });
          if (claimed.length === 0) return;
          for (const { run } of claimed) {
            expect(claimedBy.get(run.id), `run ${run.id} claimed twice`).toBeUndefined();
            claimedBy.set(run.id, workerId);
          }
        }
      };
      await Promise.all([worker(a, 'a1'), worker(a, 'a2'), worker(b, 'b1'), worker(b, 'b2')]);
      expect(claimedBy.size).toBe(200);
      expect(new Set(claimedBy.values()).size).toBeGreaterThan(1);
    });

    it('a replay and a retention sweep take turns: a replayed run never loses its event', async () => {
      const [a, b] = [await openOwn(), await openOwn()];
      const base = 1_000_000_000_000; // before any other test's runs in this schema
      const ws = newId('ws');
      const wf = newId('wf');
      await a.createWorkspace({ id: ws, name: 'Retention', createdAt: base });
      await a.createWorkflow({ workspaceId: ws, id: wf, version: 1, name: 'W', enabled: true, definition: {}, createdAt: base, updatedAt: base }, []);
      const [first, second] = [runRecord(ws, wf, base), runRecord(ws, wf, base)];
      for (const record of [first, second]) await a.ingest(record, base);
      for (const { run } of await a.claimRuns({ workerId: 'w', limit: 2, leaseMs: 60_000, now: base })) {
        await a.completeRun({ runId: run.id, attempt: 1, workerId: 'w' }, base + 1);
      }
      // Holds one old run's row so the sweep, once started, waits mid-statement.
      const blocker = new pg.Client({ connectionString: own.connectionString });
      await blocker.connect();
      try {
        await blocker.query('BEGIN');
        await blocker.query('SELECT id FROM runs WHERE id = $1 FOR UPDATE', [first.run?.id]);
        const sweeping = b.prune(base + 10, base + 10);
        await new Promise((resolve) => setTimeout(resolve, 300));
        const replaying = a.replayRun(ws, second.run?.id ?? '', newId('run'), base + 20);
        await new Promise((resolve) => setTimeout(resolve, 300));
        await blocker.query('COMMIT');
        const [swept, replayed] = [await sweeping, await replaying];
        // Either order is right, as long as they take turns. Normally the sweep went first (the
        // run to replay is gone, so nothing is queued); if the replay did, its event is kept.
        if (replayed === null) expect(swept).toEqual({ runs: 2, events: 2 });
        else expect(await a.getEvent(ws, replayed.eventId)).not.toBeNull();
      } finally {
        await blocker.end();
      }
    });

    it('wakes onRunQueued listeners on other nodes when a run is queued', async () => {
      const [writer, listener] = [await openOwn(), await openOwn()];
      const now = 4_200_000_000_000;
      const ws = newId('ws');
      const wf = newId('wf');
      await writer.createWorkspace({ id: ws, name: 'Wake', createdAt: now });
      await writer.createWorkflow({ workspaceId: ws, id: wf, version: 1, name: 'W', enabled: true, definition: {}, createdAt: now, updatedAt: now }, []);

      let wakeUps = 0;
      let woken: () => void = () => undefined;
      const unsubscribe = listener.onRunQueued(() => {
        wakeUps += 1;
        woken();
      });
      try {
        // LISTEN is set up asynchronously; keep queuing until the listener has heard one.
        const heard = new Promise<void>((resolve) => {
          woken = resolve;
        });
        const deadline = Date.now() + 5000;
        while (wakeUps === 0 && Date.now() < deadline) {
          await writer.ingest(runRecord(ws, wf, now), now);
          await Promise.race([heard, new Promise((resolve) => setTimeout(resolve, 100))]);
        }
        expect(wakeUps).toBeGreaterThan(0);
      } finally {
        unsubscribe();
      }
    });

    it('group-commits the calls of one event-loop turn in one transaction', async () => {
      const store = await openOwn();
      const now = 4_400_000_000_000;
      const ws = newId('ws');
      const wf = newId('wf');
      await store.createWorkspace({ id: ws, name: 'Batch', createdAt: now });
      await Promise.all(Array.from({ length: 300 }, () => store.ingest(runRecord(ws, wf, now), now)));
      // xmin is the id of the transaction that wrote the row: one batch, one transaction.
      const client = new pg.Client({ connectionString: own.connectionString });
      await client.connect();
      try {
        const { rows } = await client.query<{ rows: string; transactions: string }>(
          'SELECT count(*) AS rows, count(DISTINCT xmin::text) AS transactions FROM (SELECT xmin FROM events WHERE workflow_id = $1 UNION ALL SELECT xmin FROM runs WHERE workflow_id = $1) AS written',
          [wf],
        );
        expect(rows[0]).toEqual({ rows: '600', transactions: '1' });
      } finally {
        await client.end();
      }
    });

    it('accepts a key once when two nodes ingest it at the same moment', async () => {
      const [a, b] = [await openOwn(), await openOwn()];
      const now = 4_500_000_000_000;
      const ws = newId('ws');
      const wf = newId('wf');
      await a.createWorkspace({ id: ws, name: 'Dup', createdAt: now });
      for (let round = 0; round < 20; round += 1) {
        const keyed = (): IngestRecord => ({ ...runRecord(ws, wf, now), idempotency: { key: `k-${round}`, expiresAt: now + 60_000 } });
        const [x, y] = [keyed(), keyed()];
        const results = await Promise.all([a.ingest(x, now), b.ingest(y, now)]);
        const winners = results.filter((r) => !r.duplicate);
        expect(winners).toHaveLength(1);
        const loser = results.find((r) => r.duplicate);
        expect(loser).toEqual({ duplicate: true, eventId: winners[0]?.eventId, runId: winners[0]?.runId });
      }
    });

    it('answers STORAGE_UNAVAILABLE (transient) when the server cannot be reached', async () => {
      await expect(PostgresStore.open({ connectionString: 'postgres://root@127.0.0.1:1/test', maxPending: 10, writeTimeoutMs: 2000 }))
        .rejects.toMatchObject({ code: 'HOOKFLOW_ERR_STORAGE_UNAVAILABLE', transient: true });
    });

    it('fails one bad call of a batch alone', async () => {
      const store = await openOwn();
      const now = 4_300_000_000_000;
      const ws = newId('ws');
      const wf = newId('wf');
      await store.createWorkspace({ id: ws, name: 'Batch', createdAt: now });
      const good = [runRecord(ws, wf, now), runRecord(ws, wf, now)];
      const clash = runRecord(ws, wf, now);
      await store.ingest(clash, now);
      const reused = { ...runRecord(ws, wf, now), event: { ...clash.event } }; // an event id already stored
      const results = await Promise.allSettled([store.ingest(good[0] as IngestRecord, now), store.ingest(reused, now), store.ingest(good[1] as IngestRecord, now)]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(results[1]).toMatchObject({ reason: { code: 'HOOKFLOW_ERR_CONFLICT' } });
      for (const record of good) expect(await store.getRun(ws, record.run?.id ?? '')).toMatchObject({ status: 'queued' });
    });
  });
});
