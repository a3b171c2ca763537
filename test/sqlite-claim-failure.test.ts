import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';

/*
 * A claim on SQLite commits the leases in the writer thread, then reads each run's event and
 * workflow on the main thread. When that read fails for one run, the claim used to fail whole:
 * every run it had leased sat out its lease as `running` under a worker that never got it, each
 * losing an attempt. Now the unreadable run alone is settled (its attempt counts, retried after a
 * lease, dead-lettered after the last) and the others are handed over. The read failure is real:
 * an event row made unreadable through a second connection to the database file.
 */
let test: TestApp;
beforeAll(async () => {
  test = await startTestApp({ env: { HOOKFLOW_MAX_ATTEMPTS: '2' } }); // no workers: the test claims through the real store itself
});
afterAll(async () => {
  await test.stop();
});

describe('SQLite claim whose hand-over read fails for one run', () => {
  it('hands the other runs over, and settles the unreadable one: retried after a lease, dead-lettered after its last attempt', async () => {
    const { workspaceId, webhookUrl } = await createWorkflow(test, { name: 'claims', trigger: { type: 'webhook' } });
    const runIds: string[] = [];
    for (let i = 0; i < 3; i++) {
      const accepted = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ i }) });
      runIds.push(((await accepted.json()) as { run_id: string }).run_id);
    }
    const [first, broken, third] = runIds as [string, string, string];
    const brokenEvent = (await test.app.store.getRun(workspaceId, broken))?.eventId as string;
    const db = new Database(join(test.dataDir, 'hookflow.db'));
    try {
      db.pragma('busy_timeout = 10000');
      db.prepare("UPDATE events SET headers = '{not json' WHERE id = ?").run(brokenEvent);
    } finally {
      db.close();
    }

    const now = Date.now();
    const claimed = await test.app.store.claimRuns({ workerId: 'test-worker', limit: 10, leaseMs: 60_000, now });
    expect(claimed.map((c) => c.run.id).sort()).toEqual([first, third].sort());
    const settled = await test.app.store.getRun(workspaceId, broken);
    expect(settled).toMatchObject({ status: 'queued', attempts: 1, leaseOwner: null, availableAt: now + 60_000 });
    expect(settled?.lastError).toMatch(/^Could not read the run's event or workflow: /);

    // Due again after the lease: its last attempt fails the same way and dead-letters it.
    expect(await test.app.store.claimRuns({ workerId: 'test-worker', limit: 10, leaseMs: 60_000, now: now + 60_000 })).toEqual([]);
    expect(await test.app.store.getRun(workspaceId, broken)).toMatchObject({ status: 'failed', attempts: 2, leaseOwner: null });
  });
});
