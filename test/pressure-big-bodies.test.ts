import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES_CEILING, MAX_RESPONSE_BYTES_CEILING } from '../src/config/workflow-definition.js';
import { TEST_ADMIN_TOKEN } from './helpers/app.js';
import { exited, startCli, type CliProcess } from './helpers/cli.js';
import { eventually, startLoopbackServer } from './helpers/loopback.js';

// 16 webhooks at the largest allowed maxBodyBytes, and 16 runs reading answers at the largest
// allowed maxResponseBytes, against a `hookflow serve` child whose heap is bounded: it stays up,
// /healthz answers throughout, the excess is 503 (webhooks) or waits (runs), and every call
// answered 200 ends in a succeeded run. The memory budget and all else are at their defaults.

const HEAP_MB = 768;
const CONCURRENT = 16;
let node: CliProcess;
let url: string;
let dataDir: string;
let answers: Awaited<ReturnType<typeof startLoopbackServer>>;

/** JSON of about `bytes` bytes: an array of small objects (parsed, it takes ~2.6× its text). */
function bigJson(bytes: number, tag: string): Buffer {
  const item = (i: number) => `{"id":${i},"name":"item-${i}","ok":true,"tags":["a","b"]}`;
  const parts: string[] = [];
  let size = 2 + tag.length + 12;
  for (let i = 0; size + item(i).length + 1 < bytes; i++) {
    parts.push(item(i));
    size += item(i).length + 1;
  }
  return Buffer.from(`{"tag":"${tag}","items":[${parts.join(',')}]}`);
}

async function api(method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${method} ${path} → ${response.status} ${await response.text()}`);
  return response.json();
}

/** Polls /healthz every 100 ms until `stop`; every answer's status and time. */
function watchHealth(stop: () => boolean): Promise<{ status: number; ms: number }[]> {
  return (async () => {
    const seen: { status: number; ms: number }[] = [];
    while (!stop()) {
      const started = performance.now();
      const status = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(30_000) }).then((r) => r.status, () => 0);
      seen.push({ status, ms: performance.now() - started });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return seen;
  })();
}

/** POSTs until answered 200 (a 503 is retried after a pause, as a sender would); the run id and the 503s seen. */
async function sendUntilAccepted(webhookUrl: string, body: Buffer): Promise<{ runId: string; refused: number }> {
  let refused = 0;
  const deadline = Date.now() + 240_000;
  for (;;) {
    const response = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const text = await response.text();
    if (response.status === 200) return { runId: (JSON.parse(text) as { run_id: string }).run_id, refused };
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).not.toBeNull();
    refused += 1;
    if (Date.now() > deadline) throw new Error('not accepted in time');
    await new Promise((resolve) => setTimeout(resolve, 250 + Math.random() * 500));
  }
}

async function allSucceeded(workspaceId: string, runIds: string[]): Promise<void> {
  await eventually(async () => {
    const statuses = await Promise.all(runIds.map(async (runId) => (await api('GET', `/api/workspaces/${workspaceId}/runs/${runId}`)).status as string));
    expect(statuses.filter((status) => status === 'failed')).toEqual([]);
    return statuses.every((status) => status === 'succeeded') ? true : undefined;
  }, 240_000);
}

function peakRssMiB(): number {
  const status = readFileSync(`/proc/${node.child.pid}/status`, 'utf8');
  const kib = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return Math.round(kib / 1024);
}

beforeAll(async () => {
  answers = await startLoopbackServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(bigJson(MAX_RESPONSE_BYTES_CEILING - 1024, 'answer'));
  });
  dataDir = mkdtempSync(join(tmpdir(), 'hookflow-big-'));
  node = await startCli('serve', {
    PORT: '0',
    HOOKFLOW_DATA_DIR: dataDir,
    HOOKFLOW_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    NODE_OPTIONS: `--max-old-space-size=${HEAP_MB}`,
    HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8',
    HOOKFLOW_RETRY_AFTER_SECONDS: '1',
    // Runs refused room for an answer are retried: quickly and often enough for the test's pace.
    HOOKFLOW_RETRY_BASE_MS: '200',
    HOOKFLOW_RETRY_MAX_MS: '2000',
    HOOKFLOW_MAX_ATTEMPTS: '100',
  });
  url = node.url as string;
  await api('POST', '/api/workspaces', { id: 'big', name: 'Big' });
}, 60_000);

afterAll(async () => {
  if (node !== undefined) console.log(`hookflow exited ${node.child.exitCode}:\n${node.output().slice(-3000)}`);
  node?.child.kill('SIGKILL');
  if (node !== undefined) await exited(node.child);
  await answers?.close();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
});

describe('bounded memory under big bodies', () => {
  it(`takes ${CONCURRENT} concurrent webhooks at the largest maxBodyBytes without running out of heap`, async () => {
    await api('POST', '/api/workspaces/big/workflows', {
      id: 'bodies',
      name: 'Big bodies',
      trigger: { type: 'webhook', sharedKey: 'big-bodies-key', bodyMemory: 'body', maxBodyBytes: MAX_BODY_BYTES_CEILING },
      // The script gets the run's memory, the body included, on its thread.
      steps: [{ id: 'size', type: 'script', output: 'size', code: 'return memory.load("webhook").bodyBytes;' }],
    });
    const body = bigJson(MAX_BODY_BYTES_CEILING - 1024, 'body');
    let done = false;
    const health = watchHealth(() => done);
    const sent = await Promise.all(Array.from({ length: CONCURRENT }, () => sendUntilAccepted(`${url}/api/webhook/big/bodies?key=big-bodies-key`, body)));
    await allSucceeded('big', sent.map((s) => s.runId));
    done = true;
    const probes = await health;
    const slowest = Math.round(Math.max(...probes.map((p) => p.ms)));
    console.log(`big bodies: ${CONCURRENT} × ${(body.length / 1048576).toFixed(1)} MiB, ${sent.reduce((n, s) => n + s.refused, 0)} answers 503 before all were taken; /healthz ${probes.length} probes, slowest ${slowest} ms; peak RSS ${peakRssMiB()} MiB (heap bounded at ${HEAP_MB} MB)`);
    expect(node.child.exitCode).toBeNull();
    expect(probes.filter((probe) => probe.status !== 200)).toEqual([]);
    const run = await api('GET', `/api/workspaces/big/runs/${sent[0]?.runId}`);
    expect(run.steps[0].output).toBe(body.length);
  }, 300_000);

  it(`runs ${CONCURRENT} HTTP steps reading answers at the largest maxResponseBytes without running out of heap`, async () => {
    await api('POST', '/api/workspaces/big/workflows', {
      id: 'answers',
      name: 'Big answers',
      trigger: { type: 'webhook', sharedKey: 'big-answers-key' },
      steps: [{ id: 'fetch', type: 'http', method: 'GET', url: `${answers.url}/big`, output: 'answer', maxResponseBytes: MAX_RESPONSE_BYTES_CEILING }],
    });
    let done = false;
    const health = watchHealth(() => done);
    const sent = await Promise.all(Array.from({ length: CONCURRENT }, () => sendUntilAccepted(`${url}/api/webhook/big/answers?key=big-answers-key`, Buffer.from('{}'))));
    await allSucceeded('big', sent.map((s) => s.runId));
    done = true;
    const probes = await health;
    const slowest = Math.round(Math.max(...probes.map((p) => p.ms)));
    console.log(`big answers: ${CONCURRENT} runs × ${(MAX_RESPONSE_BYTES_CEILING / 1048576).toFixed(0)} MiB answers, ${answers.received.length} answers served (the excess waited and was retried); /healthz ${probes.length} probes, slowest ${slowest} ms; peak RSS ${peakRssMiB()} MiB`);
    expect(node.child.exitCode).toBeNull();
    expect(probes.filter((probe) => probe.status !== 200)).toEqual([]);
  }, 300_000);
});
