// Rows beside the SQLite ingest: hookflow ingest on PostgreSQL, a two-node cluster end to end, and
// ingest while 500 callers wait for results (`trigger.response.mode: "result"`). PostgreSQL comes
// from BENCH_DATABASE_URL, else the machines' local server; without one these rows are skipped.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Pool } from 'undici';
import { burst } from './end-to-end.mjs';
import { ORDER_BODY, api, startHookflow, startProcess, stopProcess, ROOT, ADMIN } from './harness.mjs';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
const KEY = 'bench-cluster-key-0123456789';
const CLUSTER_RUNS = Number(process.env.BENCH_CLUSTER_RUNS ?? 5000);
const WAITERS = Number(process.env.BENCH_WAITERS ?? 500);

async function load(url, connections = CONNECTIONS) {
  const options = { url, method: 'POST', headers: { 'content-type': 'application/json' }, body: ORDER_BODY, connections };
  await autocannon({ ...options, duration: 2 });
  const result = await autocannon({ ...options, duration: DURATION_S });
  return { reqPerSec: Math.round(result.requests.average), p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx };
}

const line = (name, r, base) => `${name.padEnd(44)} ${String(r.reqPerSec).padStart(8)} req/s   p50 ${String(r.p50).padStart(4)} ms   p99 ${String(r.p99).padStart(4)} ms${base ? `   ratio ${(r.reqPerSec / base).toFixed(2)}` : ''}   non-2xx ${r.non2xx}`;

/** A fresh schema on the bench's PostgreSQL, or null (with the reason printed) when none answers. */
async function freshSchema() {
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch (error) {
    console.log(`\nPostgreSQL rows skipped: no server at ${new URL(DATABASE_URL).host} (${error.message})`);
    return null;
  }
  const name = `hookflow_bench_${Date.now()}`;
  await admin.query(`CREATE SCHEMA ${name}`);
  const url = new URL(DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${name}`);
  return {
    url: url.toString(),
    async count() {
      const { rows } = await admin.query(`SELECT count(*)::int AS n FROM ${name}.runs WHERE status = 'succeeded'`);
      return rows[0].n;
    },
    async drop() {
      await admin.query(`DROP SCHEMA ${name} CASCADE`);
      await admin.end();
    },
  };
}

const node = (role, env) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-bench-cluster-'));
  const command = [join(ROOT, 'dist', 'cli', 'main.js'), role];
  const started = role === 'serve'
    ? startHookflow(dataDir, env)
    : startProcess(command, { HOOKFLOW_DATA_DIR: dataDir, HOOKFLOW_ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'info', ...env }, /(workers started)/);
  return started.then((process) => ({ ...process, dataDir }));
};

async function stopAll(nodes) {
  await Promise.all(nodes.map((n) => stopProcess(n.child)));
  for (const n of nodes) rmSync(n.dataDir, { recursive: true, force: true });
}

/** PostgreSQL: ingest on one node, and a 2 serve + 2 worker cluster end to end. */
export async function benchPostgres(baselineReqPerSec) {
  const schema = await freshSchema();
  if (schema === null) return;
  const env = { DATABASE_URL: schema.url, HOOKFLOW_MASTER_KEY: Buffer.alloc(32, 5).toString('base64') };
  const nodes = [];
  try {
    const a = await node('serve', { ...env, HOOKFLOW_WORKER_CONCURRENCY: '0' });
    nodes.push(a);
    await api(a.url, 'POST', '/api/workspaces', { id: 'bench', name: 'Bench' });
    await api(a.url, 'POST', '/api/workspaces/bench/workflows', { id: 'ingest', name: 'Ingest', trigger: { type: 'webhook', sharedKey: KEY, bodyMemory: 'order' } });
    await api(a.url, 'POST', '/api/workspaces/bench/workflows', {
      id: 'e2e', name: 'E2E', trigger: { type: 'webhook', sharedKey: KEY, bodyMemory: 'order' },
      steps: [{ id: 'pick', type: 'script', code: 'return memory.load("order").order_id;', output: 'orderId' }],
    });
    const single = await load(`${a.url}/api/webhook/bench/ingest?key=${KEY}`);

    const b = await node('serve', { ...env, HOOKFLOW_WORKER_CONCURRENCY: '0' });
    nodes.push(b);
    nodes.push(await node('worker', { ...env, HOOKFLOW_WORKER_CONCURRENCY: '16' }));
    nodes.push(await node('worker', { ...env, HOOKFLOW_WORKER_CONCURRENCY: '16' }));
    const headers = { 'content-type': 'application/json' };
    const urls = [a, b].map((n) => `${n.url}/api/webhook/bench/e2e?key=${KEY}`);
    const started = Date.now();
    await Promise.all(urls.map((url) => burst(url, headers, ORDER_BODY, CLUSTER_RUNS / 2, 25)));
    const ingestSeconds = (Date.now() - started) / 1000;
    while ((await schema.count()) < CLUSTER_RUNS) await new Promise((resolve) => setTimeout(resolve, 100));
    const seconds = (Date.now() - started) / 1000;

    console.log(`\nPostgreSQL (${new URL(DATABASE_URL).host}), same run:`);
    console.log(line('hookflow ingest on PostgreSQL, one node', single, baselineReqPerSec));
    console.log(`two serve + two worker nodes, ${CLUSTER_RUNS} webhooks over both serve nodes: ingest ${Math.round(CLUSTER_RUNS / ingestSeconds)} req/s, all runs succeeded after ${seconds.toFixed(2)} s → ${Math.round(CLUSTER_RUNS / seconds)} runs/s end to end`);
  } finally {
    await stopAll(nodes);
    await schema.drop();
  }
}

/** Ingest of one workflow alone, then while WAITERS callers of a result-mode workflow wait (SQLite). */
export async function benchWaitingCallers() {
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  const slow = createServer((request, response) => {
    request.resume();
    held.then(() => response.end('{"done":true}'));
  });
  await new Promise((resolve) => slow.listen(0, '127.0.0.1', resolve));
  const slowUrl = `http://127.0.0.1:${slow.address().port}/slow`;
  const nodes = [await node('serve', { HOOKFLOW_WORKER_CONCURRENCY: '8', HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8' })];
  const hookflow = nodes[0];
  try {
    await api(hookflow.url, 'POST', '/api/workspaces', { id: 'bench', name: 'Bench' });
    await api(hookflow.url, 'POST', '/api/workspaces/bench/workflows', { id: 'plain', name: 'Plain', trigger: { type: 'webhook', sharedKey: KEY, bodyMemory: 'order' } });
    await api(hookflow.url, 'POST', '/api/workspaces/bench/workflows', {
      id: 'waits', name: 'Waits', maxAttempts: 1, trigger: { type: 'webhook', sharedKey: KEY, response: { mode: 'result', timeoutMs: 60_000 } },
      steps: [{ id: 'slow', type: 'http', method: 'POST', url: slowUrl, body: '{}', timeoutMs: 120_000 }],
    });
    const plainUrl = `${hookflow.url}/api/webhook/bench/plain?key=${KEY}`;
    const alone = await load(plainUrl);
    const pool = new Pool(hookflow.url, { connections: WAITERS });
    const waiting = Array.from({ length: WAITERS }, () =>
      pool.request({ path: `/api/webhook/bench/waits?key=${KEY}`, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
        .then(async (response) => { await response.body.dump(); return response.statusCode; }));
    // Let every waiter be accepted and parked before measuring.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const during = await load(plainUrl);
    release();
    const statuses = await Promise.all(waiting);
    await pool.close();
    const answered = statuses.filter((status) => status === 200 || status === 202).length;
    console.log(`\ningest while ${WAITERS} result-mode callers wait (SQLite, same process, 8 workers busy with their runs):`);
    console.log(line('ingest of another workflow, nobody waiting', alone));
    console.log(line(`the same with ${WAITERS} callers waiting`, during, alone.reqPerSec));
    console.log(`  the waiting callers got their answers (200 result or 202): ${answered}/${WAITERS}`);
  } finally {
    release();
    await stopAll(nodes);
    slow.closeAllConnections();
    slow.close();
  }
}

/** Ingest of a rate-limited trigger (a limit never reached): per-node buckets against Redis's shared ones. */
export async function benchSharedRateLimits(baselineReqPerSec) {
  const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const { connect } = await import('node:net');
  const reachable = await new Promise((resolve) => {
    const socket = connect(Number(new URL(redisUrl).port || 6379), new URL(redisUrl).hostname);
    socket.setTimeout(1000);
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => { socket.destroy(); resolve(false); });
  });
  if (!reachable) {
    console.log(`\nshared rate-limit row skipped: no Redis at ${new URL(redisUrl).host}`);
    return;
  }
  const measure = async (env) => {
    const nodes = [await node('serve', { HOOKFLOW_WORKER_CONCURRENCY: '0', ...env })];
    try {
      await api(nodes[0].url, 'POST', '/api/workspaces', { id: 'bench', name: 'Bench' });
      await api(nodes[0].url, 'POST', '/api/workspaces/bench/workflows', { id: 'limited', name: 'Limited', trigger: { type: 'webhook', sharedKey: KEY, rateLimit: { perMinute: 1_000_000 } } });
      return await load(`${nodes[0].url}/api/webhook/bench/limited?key=${KEY}`);
    } finally {
      await stopAll(nodes);
    }
  };
  const local = await measure({});
  const shared = await measure({ REDIS_URL: redisUrl });
  console.log('\nrate-limited trigger (SQLite), buckets per node against buckets in Redis, same run:');
  console.log(line('ingest, rate limit per node', local, baselineReqPerSec));
  console.log(line('ingest, rate limit shared in Redis', shared, baselineReqPerSec));
  console.log(`  Redis costs ${Math.round((1 - shared.reqPerSec / local.reqPerSec) * 100)} % of throughput here`);
}
