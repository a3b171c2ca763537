// A reference point, not a product: the naive way to make webhooks durable, as the ingest issue
// describes it. Fastify parses the JSON body; requests gather for one event-loop turn and commit
// together in ONE SQLite transaction (WAL, synchronous=FULL) ON THE MAIN THREAD, so the fsync
// blocks the event loop (which hookflow must not do). One row per webhook with an integer key;
// no key check, lookup, limits, run row or indexes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import Fastify from 'fastify';

const dir = mkdtempSync(join(tmpdir(), 'hookflow-naive-'));
const db = new Database(join(dir, 'naive.db'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec('CREATE TABLE events (id INTEGER PRIMARY KEY, received_at INTEGER NOT NULL, headers TEXT NOT NULL, body TEXT NOT NULL)');
const insert = db.prepare('INSERT INTO events (received_at, headers, body) VALUES (?, ?, ?)');

let waiting = [];
function commitWaiting() {
  const batch = waiting;
  waiting = [];
  db.exec('BEGIN IMMEDIATE');
  const ids = batch.map((item) => insert.run(item.receivedAt, item.headers, item.body).lastInsertRowid);
  db.exec('COMMIT');
  batch.forEach((item, i) => item.resolve(ids[i]));
}

const app = Fastify({ logger: false });
app.post('/api/webhook/:ws/:wf', async (request) => {
  const id = await new Promise((resolve) => {
    if (waiting.length === 0) setImmediate(commitWaiting);
    waiting.push({ receivedAt: Date.now(), headers: JSON.stringify(request.headers), body: JSON.stringify(request.body), resolve });
  });
  return { status: 'accepted', workflow_started: true, run_id: String(id) };
});
await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${app.server.address().port}` })}\n`);
for (const s of ['SIGTERM', 'SIGINT']) {
  process.on(s, () => app.close().then(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  }));
}
