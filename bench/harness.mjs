// Shared pieces of the benchmarks: child processes, the hookflow CLI, a ~1 KB order body.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..');
export const ADMIN = 'bench-admin-token-0123456789';

/**
 * The servers hookflow's ingest is measured against, each answering POST /api/webhook/:ws/:wf
 * and printing `{"url":…}` once listening: the bare Fastify baseline; the naive durable server
 * (group commit on the main thread); and hookflow's own store behind bare Fastify.
 */
export const REFERENCE_SERVERS = {
  baseline: join(ROOT, 'bench', 'baseline-server.mjs'),
  naive: join(ROOT, 'bench', 'naive-group-commit-server.mjs'),
  'store-floor': join(ROOT, 'bench', 'store-floor-server.mjs'),
  'store-floor-writer': join(ROOT, 'bench', 'store-floor-writer-server.mjs'),
};

export const ORDER_BODY = JSON.stringify({
  event: 'order_completed',
  order_id: 'ORD-12345',
  customer: { email: 'customer@example.com', name: 'John Doe', address: { street: '1 Main St', city: 'Springfield', zip: '12345' } },
  items: Array.from({ length: 8 }, (_, i) => ({ sku: `SKU-${1000 + i}`, name: `Item number ${i}`, qty: i + 1, price: 9.99 + i })),
  total_amount: 150.0,
  currency: 'EUR',
  note: 'x'.repeat(220),
});

/** Starts `node args…` and resolves once its output matches `pattern` (group 1 = URL). */
export function startProcess(args, env, pattern) {
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk) => {
      output += chunk.toString();
      const match = pattern.exec(output);
      if (match) resolve({ child, url: match[1] });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
  });
}

/** Starts `hookflow serve` from dist/ on a free port with the given data dir. */
export function startHookflow(dataDir, env = {}) {
  return startProcess(
    [join(ROOT, 'dist', 'cli', 'main.js'), 'serve'],
    { PORT: '0', HOOKFLOW_DATA_DIR: dataDir, HOOKFLOW_ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'info', ...env },
    /"url":"(http:\/\/[^"]+)"[^\n]*hookflow listening/,
  );
}

export function stopProcess(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', resolve);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
  });
}

/** Calls the management API; throws on a non-2xx answer. */
export async function api(base, method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} → ${response.status} ${text}`);
  return text === '' ? null : JSON.parse(text);
}
