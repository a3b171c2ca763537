import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';
import { createTestSchema, describeWithPostgres, type TestSchema } from './helpers/postgres.js';

/*
 * A claim leases runs, then reads each one's event and workflow. When that read fails for one
 * run, on SQLite the claim used to fail whole: every run it had leased sat out its lease as
 * `running` under a worker that never got it, each losing an attempt; on PostgreSQL every run
 * was given back, and the unreadable one, first in the queue, was claimed again and again,
 * holding up the runs behind it. Now the unreadable run alone is settled (its attempt counts,
 * retried after a lease, dead-lettered after the last) and the others are handed over. The read
 * failure is real: an event row made unreadable through a second connection to the database.
 */
function claimScenario(start: () => Promise<{ test: TestApp; corruptEvent: (eventId: string) => Promise<void>; stop: () => Promise<void> }>): void {
  let test: TestApp;
  let corruptEvent: (eventId: string) => Promise<void>;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    ({ test, corruptEvent, stop } = await start());
  });
  afterAll(async () => {
    await stop();
  });

  it('hands the other runs over, and settles the unreadable one: retried after a lease, dead-lettered after its last attempt', async () => {
    const { workspaceId, webhookUrl } = await createWorkflow(test, { name: 'claims', trigger: { type: 'webhook' } });
    const runIds: string[] = [];
    for (let i = 0; i < 3; i++) {
      const accepted = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ i }) });
      runIds.push(((await accepted.json()) as { run_id: string }).run_id);
    }
    const [first, broken, third] = runIds as [string, string, string];
    await corruptEvent((await test.app.store.getRun(workspaceId, broken))?.eventId as string);

    const now = Date.now() + 1000;
    const claimed = await test.app.store.claimRuns({ workerId: 'test-worker', limit: 10, leaseMs: 60_000, now });
    expect(claimed.map((c) => c.run.id).sort()).toEqual([first, third].sort());
    const settled = await test.app.store.getRun(workspaceId, broken);
    expect(settled).toMatchObject({ status: 'queued', attempts: 1, leaseOwner: null, availableAt: now + 60_000 });
    expect(settled?.lastError).toMatch(/^Could not read the run's event or workflow: /);

    // Due again after the lease: its last attempt fails the same way and dead-letters it.
    expect(await test.app.store.claimRuns({ workerId: 'test-worker', limit: 10, leaseMs: 60_000, now: now + 60_000 })).toEqual([]);
    expect(await test.app.store.getRun(workspaceId, broken)).toMatchObject({ status: 'failed', attempts: 2, leaseOwner: null });
  });
}

// No workers: each test claims through the real store itself. Two attempts per run.
const ENV = { HOOKFLOW_MAX_ATTEMPTS: '2' };

describe('SQLite claim whose hand-over read fails for one run', () => {
  claimScenario(async () => {
    const test = await startTestApp({ env: ENV });
    return {
      test,
      stop: () => test.stop(),
      corruptEvent: async (eventId) => {
        const db = new Database(join(test.dataDir, 'hookflow.db'));
        try {
          db.pragma('busy_timeout = 10000');
          db.prepare("UPDATE events SET headers = '{not json' WHERE id = ?").run(eventId);
        } finally {
          db.close();
        }
      },
    };
  });
});

await describeWithPostgres('PostgreSQL claim whose hand-over read fails for one run', () => {
  claimScenario(async () => {
    const schema: TestSchema = await createTestSchema();
    const test = await startTestApp({ env: { ...ENV, DATABASE_URL: schema.connectionString } });
    return {
      test,
      stop: async () => {
        await test.stop();
        await schema.drop();
      },
      corruptEvent: async (eventId) => {
        const client = new pg.Client({ connectionString: schema.connectionString });
        await client.connect();
        try {
          await client.query("UPDATE events SET headers = '{not json' WHERE id = $1", [eventId]);
        } finally {
          await client.end();
        }
      },
    };
  });
});
