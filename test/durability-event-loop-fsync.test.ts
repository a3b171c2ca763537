import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, exited } from './helpers/cli.js';

/**
 * The other half of the main-thread ingest path's promise (main-ingest.ts): webhooks are
 * answered after an fsync of the WAL, and the event loop never waits for one — not for the
 * WAL, not for a checkpoint, not for the WAL header SQLite syncs when it restarts the WAL.
 * A real `hookflow serve` runs under strace, which records every fsync-family call with the
 * thread that made it and the file; enough webhooks arrive for several checkpoints and WAL
 * restarts. The main thread's id is the process id.
 */
const ADMIN = 'fsync-trace-admin-token-0123456789';
const CHECKPOINT_ROWS = 200;
const ROUNDS = 12;

const hasStrace = spawnSync('strace', ['-V']).status === 0;
if (!hasStrace && process.env['HOOKFLOW_REQUIRE_STRACE'] === '1') throw new Error('strace is required (HOOKFLOW_REQUIRE_STRACE=1): apt-get install -y strace');
if (!hasStrace) console.warn('durability-event-loop-fsync: strace is not installed; skipping');

const dirs: string[] = [];
const children: ChildProcess[] = [];
const nodes: number[] = [];
afterAll(() => {
  for (const pid of nodes) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already stopped.
    }
  }
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** `hookflow serve` under strace; resolves with its URL and the node process id. */
function serveTraced(dataDir: string, traceFile: string): Promise<{ child: ChildProcess; url: string; pid: number }> {
  const args = ['-f', '-qq', '-y', '--seccomp-bpf', '-e', 'trace=fsync,fdatasync,sync_file_range,syncfs,sync,msync', '-o', traceFile, process.execPath, CLI, 'serve'];
  const env = { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'info', PORT: '0', HOOKFLOW_DATA_DIR: dataDir, HOOKFLOW_ADMIN_TOKEN: ADMIN, HOOKFLOW_WORKER_CONCURRENCY: '0', HOOKFLOW_SQLITE_CHECKPOINT_ROWS: String(CHECKPOINT_ROWS) };
  const child = spawn('strace', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /"url":"(http:\/\/[^"]+)"[^\n]*hookflow listening/.exec(output);
      // strace's only child is node; its main thread's id is its process id.
      if (match?.[1] === undefined) return;
      const pid = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim());
      nodes.push(pid);
      resolve({ child, url: match[1], pid });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`strace hookflow serve exited early (${code}): ${output}`)));
  });
}

describe.skipIf(!hasStrace)('the event loop never waits for an fsync', () => {
  it('syncs the WAL, checkpoints and restarts it only on other threads while webhooks are answered', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-fsync-trace-'));
    dirs.push(dataDir);
    const traceFile = join(dataDir, '..', `${dataDir.split('/').pop() ?? 'trace'}.strace`);
    dirs.push(traceFile);
    const server = await serveTraced(dataDir, traceFile);
    const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    expect((await fetch(`${server.url}/api/workspaces`, { method: 'POST', headers: admin, body: JSON.stringify({ id: 'shop', name: 'Shop' }) })).status).toBe(201);
    const created = await fetch(`${server.url}/api/workspaces/shop/workflows`, {
      method: 'POST', headers: admin,
      body: JSON.stringify({ id: 'orders', name: 'Orders', trigger: { type: 'webhook', sharedKey: 'shop-integration-key', bodyMemory: 'orderData' } }),
    });
    expect(created.status).toBe(201);

    // Rounds of exactly HOOKFLOW_SQLITE_CHECKPOINT_ROWS webhooks, then a pause: each round ends
    // with a checkpoint of the whole WAL and the next round's first commit comes after it — the
    // commit that would restart the WAL (and sync its header) if the writer thread had not.
    const dispatcher = new Agent({ connections: 50, pipelining: 1 });
    const body = JSON.stringify({ event: 'order_completed', note: 'x'.repeat(600) });
    let accepted = 0;
    for (let round = 0; round < ROUNDS; round++) {
      let next = 0;
      await Promise.all(Array.from({ length: 50 }, async () => {
        while (next < CHECKPOINT_ROWS) {
          next += 1;
          const response = await fetch(`${server.url}/api/webhook/shop/orders?key=shop-integration-key`, {
            method: 'POST', headers: { 'content-type': 'application/json' }, body,
            // @ts-expect-error undici's dispatcher option is not in the DOM fetch types
            dispatcher,
          });
          if (response.status === 200) accepted += 1;
          await response.arrayBuffer();
        }
      }));
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    await dispatcher.close();
    expect(accepted).toBe(ROUNDS * CHECKPOINT_ROWS);
    // Stops node (strace then ends with it and flushes its record).
    process.kill(server.pid, 'SIGTERM');
    await exited(server.child);

    // Lines look like `1234 fdatasync(23</tmp/…/hookflow.db-wal>) = 0` (or split into unfinished/resumed halves).
    const calls = readFileSync(traceFile, 'utf8').split('\n')
      .map((line) => /^(\d+)\s+(\w+)\((\d+)<([^>]*)>/.exec(line))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => ({ thread: Number(match[1]), call: match[2] as string, file: match[4] as string }));
    const onDatabase = calls.filter((c) => c.file.includes('hookflow.db'));
    const onMain = onDatabase.filter((c) => c.thread === server.pid);
    expect(onMain, 'fsyncs of the database files on the event loop').toEqual([]);
    // The WAL was synced for the answers, off the main thread…
    expect(onDatabase.filter((c) => c.file.endsWith('hookflow.db-wal') && c.call === 'fdatasync').length).toBeGreaterThan(10);
    // …and checkpoints ran (they sync the database file), so WAL restarts happened too.
    expect(onDatabase.filter((c) => c.file.endsWith('hookflow.db')).length).toBeGreaterThanOrEqual(ROUNDS);
  });
});
