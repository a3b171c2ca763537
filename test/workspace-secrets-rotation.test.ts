import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { CLI, exited, startCli, type CliProcess } from './helpers/cli.js';
import { eventually, startLoopbackServer } from './helpers/loopback.js';

/**
 * `hookflow keys rotate-master` re-encrypts workspace secrets too (run `npm run build` first):
 * a secret stored under the old master key is still sent, after the rotation, by a server
 * started with the new key only.
 */
const ADMIN = 'ws-secret-rotation-admin-token-01';
const OLD_MASTER = randomBytes(32).toString('base64');
const NEW_MASTER = randomBytes(32).toString('base64');
const TOKEN = 'ws-secret-rotation-value-9c2e41';

const children: ChildProcess[] = [];
const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-ws-secret-rotation-'));
const target = await startLoopbackServer((_request, response) => response.end('{}'));

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited(child);
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
  await target.close();
});

async function serve(masterKey: string): Promise<CliProcess> {
  const started = await startCli('serve', {
    PORT: '0', HOOKFLOW_DATA_DIR: dataDir, HOOKFLOW_ADMIN_TOKEN: ADMIN, HOOKFLOW_MASTER_KEY: masterKey,
    HOOKFLOW_WORKER_CONCURRENCY: '1', HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8',
  });
  children.push(started.child);
  return started;
}

async function stop(running: CliProcess): Promise<void> {
  running.child.kill('SIGTERM');
  await exited(running.child);
}

function rotateMaster(): Promise<{ code: number; stdout: string }> {
  const env = { PATH: process.env['PATH'] ?? '', HOOKFLOW_DATA_DIR: dataDir, LOG_LEVEL: 'info', HOOKFLOW_MASTER_KEY: OLD_MASTER };
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'keys', 'rotate-master', '--new-key', NEW_MASTER], { env, timeout: 20_000 }, (error, stdout) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout });
    });
  });
}

it('re-encrypts workspace secrets; the new key sends them, and nothing is ever in plaintext on disk', async () => {
  const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
  const first = await serve(OLD_MASTER);
  expect((await fetch(`${first.url}/api/workspaces`, { method: 'POST', headers: admin, body: JSON.stringify({ id: 'shop', name: 'Shop' }) })).status).toBe(201);
  expect((await fetch(`${first.url}/api/workspaces/shop/secrets/TOKEN`, { method: 'PUT', headers: admin, body: JSON.stringify({ value: TOKEN, allowedOrigins: [target.url] }) })).status).toBe(201);
  const created = await fetch(`${first.url}/api/workspaces/shop/workflows`, {
    method: 'POST', headers: admin,
    body: JSON.stringify({
      id: 'ship', name: 'ship', maxAttempts: 1, trigger: { type: 'webhook', sharedKey: 'ws-secret-rotation-key' },
      steps: [{ id: 'send', type: 'http', method: 'POST', url: `${target.url}/ship`, headers: { authorization: 'Bearer {{secrets.TOKEN}}' } }],
    }),
  });
  expect(created.status).toBe(201);
  await stop(first);

  const rotation = await rotateMaster();
  expect(rotation.code).toBe(0);
  // The workflow's shared key and the workspace secret.
  expect(rotation.stdout).toContain('re-encrypted 2 secrets');

  const second = await serve(NEW_MASTER);
  try {
    const accepted = await fetch(`${second.url}/api/webhook/shop/ship?key=ws-secret-rotation-key`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(accepted.status).toBe(200);
    const received = await eventually(async () => target.received[0]);
    expect(received.headers.authorization).toBe(`Bearer ${TOKEN}`);
  } finally {
    await stop(second);
  }
  const bytes = Buffer.concat(readdirSync(dataDir).map((name) => readFileSync(join(dataDir, name))));
  expect(bytes.includes(TOKEN)).toBe(false);
});
