import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';

/*
 * A claim on SQLite commits the leases in the writer thread, then reads each run's event and
 * workflow on the main thread. When that read fails, the claim fails; the runs it had leased
 * must be given back at once (as on PostgreSQL), not sit out their lease as `running` under a
 * worker that never got them, each losing an attempt. The read failure is real: an event row
 * made unreadable through a second connection to the database file.
 */
let test: TestApp;
beforeAll(async () => {
  test = await startTestApp(); // no workers: the test claims through the real store itself
});
afterAll(async () => {
  await test.stop();
});

describe('SQLite claim whose hand-over read fails', () => {
  it('gives every claimed run back (queued, attempt not used) and fails the claim', async () => {
    const { workspaceId, webhookUrl } = await createWorkflow(test, { name: 'claims', trigger: { type: 'webhook' } });
    const runIds: string[] = [];
    for (let i = 0; i < 3; i++) {
      const accepted = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ i }) });
      runIds.push(((await accepted.json()) as { run_id: string }).run_id);
    }
    const broken = (await test.api('GET', `/api/workspaces/${workspaceId}/runs/${runIds[1]}`)).body.eventId as string;
    const db = new Database(join(test.dataDir, 'hookflow.db'));
    try {
      db.pragma('busy_timeout = 10000');
      db.prepare("UPDATE events SET headers = '{not json' WHERE id = ?").run(broken);
    } finally {
      db.close();
    }

    await expect(test.app.store.claimRuns({ workerId: 'test-worker', limit: 10, leaseMs: 600_000, now: Date.now() })).rejects.toThrow();
    for (const runId of runIds) {
      const run = await test.app.store.getRun(workspaceId, runId);
      expect({ runId, status: run?.status, attempts: run?.attempts, leaseOwner: run?.leaseOwner ?? null }).toEqual({ runId, status: 'queued', attempts: 0, leaseOwner: null });
    }
  });
});
