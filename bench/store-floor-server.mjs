// A reference point, not a product: the bare Fastify baseline plus hookflow's own durable write.
// Each request is written through hookflow's real SQLite store (its default ingest path: group
// commit on the main thread and an async fdatasync, FULL durability; or with
// STORE_FLOOR_INGEST_PATH=writer the writer thread, see store-floor-writer-server.mjs; the same
// event + queued-run rows) and answered after it is durable, with no key
// check, lookup, limits, body scan or metrics. What hookflow's storage alone costs: the floor
// under hookflow's ingest on this machine.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { SqliteStore } from '../dist/store/sqlite/sqlite-store.js';
import { newId } from '../dist/store/ids.js';

const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-store-floor-'));
const ingestPath = process.env.STORE_FLOOR_INGEST_PATH ?? 'main';
const store = await SqliteStore.open({ dataDir, synchronous: 'FULL', busyTimeoutMs: 5000, maxBatch: 1000, maxPending: 10_000, writeTimeoutMs: 10_000, ingestPath });
const now = Date.now();
await store.createWorkspace({ id: 'ws', name: 'Floor', createdAt: now });
await store.createWorkflow({ workspaceId: 'ws', id: 'wf', version: 1, name: 'Floor', enabled: true, definition: {}, createdAt: now, updatedAt: now }, []);

const app = Fastify({ logger: false });
app.post('/api/webhook/:ws/:wf', async (request) => {
  const receivedAt = Date.now();
  const eventId = newId('evt', receivedAt);
  const result = await store.ingest(
    {
      event: {
        id: eventId, workspaceId: 'ws', workflowId: 'wf', workflowVersion: 1, receivedAt, test: false,
        headersJson: JSON.stringify(request.headers), bodyJson: JSON.stringify(request.body), metaJson: '{}', idempotencyKey: null,
      },
      run: { id: newId('run', receivedAt), maxAttempts: 3 },
      idempotency: null,
    },
    receivedAt,
  );
  return { status: 'accepted', workflow_started: true, run_id: result.runId };
});
await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${app.server.address().port}` })}\n`);
for (const s of ['SIGTERM', 'SIGINT']) {
  process.on(s, () => app.close().then(() => store.close()).then(() => {
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  }));
}
