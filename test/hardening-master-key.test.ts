import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, exited, startCli, type CliProcess } from './helpers/cli.js';

/**
 * `hookflow keys rotate-master` against real `hookflow serve` processes (run `npm run build`
 * first): secrets written under one master key still work under the new one, and starting with
 * the old key after the rotation fails visibly.
 */
const ADMIN = 'master-key-admin-token-0123456789';
const OLD_MASTER = randomBytes(32).toString('base64');
const NEW_MASTER = randomBytes(32).toString('base64');
const SHARED_KEY = 'master-rotation-shared-key-51c9';
const SIGNATURE_SECRET = 'master-rotation-gh-secret-7d20';
const LLM_KEY = 'sk-master-rotation-llm-key-e4b7';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited(child);
    }
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hookflow-hardening-mk-'));
  dirs.push(dir);
  return dir;
}

async function serve(dataDir: string, masterKey?: string): Promise<CliProcess> {
  const started = await startCli('serve', {
    PORT: '0',
    HOOKFLOW_DATA_DIR: dataDir,
    HOOKFLOW_ADMIN_TOKEN: ADMIN,
    HOOKFLOW_WORKER_CONCURRENCY: '0',
    ...(masterKey === undefined ? {} : { HOOKFLOW_MASTER_KEY: masterKey }),
  });
  children.push(started.child);
  return started;
}

async function stop(running: CliProcess): Promise<number | null> {
  running.child.kill('SIGTERM');
  await exited(running.child);
  return running.child.exitCode;
}

function rotateMaster(dataDir: string, newKey: string, masterKey?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: process.env['PATH'] ?? '', HOOKFLOW_DATA_DIR: dataDir, LOG_LEVEL: 'info', ...(masterKey === undefined ? {} : { HOOKFLOW_MASTER_KEY: masterKey }) };
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'keys', 'rotate-master', '--new-key', newKey], { env, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

async function webhook(url: string, init: { key?: string; headers?: Record<string, string> } = {}) {
  const query = init.key === undefined ? '' : `?key=${init.key}`;
  const response = await fetch(`${url}/api/webhook/shop/orders${query}`, { method: 'POST', headers: { 'content-type': 'application/json', ...init.headers }, body: '{"n":1}' });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Every file in a data dir, as bytes (the SQLite file, its WAL and shm, the key file). */
function dataDirBytes(dataDir: string): Buffer {
  return Buffer.concat(readdirSync(dataDir).map((name) => readFileSync(join(dataDir, name))));
}

describe('keys rotate-master', () => {
  const dataDir = tempDir();
  let rotation: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    const first = await serve(dataDir, OLD_MASTER);
    const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    expect((await fetch(`${first.url}/api/workspaces`, { method: 'POST', headers: admin, body: JSON.stringify({ id: 'shop', name: 'Shop' }) })).status).toBe(201);
    const created = await fetch(`${first.url}/api/workspaces/shop/workflows`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({
        id: 'orders',
        name: 'Orders',
        trigger: { type: 'webhook', sharedKey: SHARED_KEY, signature: { scheme: 'github', secret: SIGNATURE_SECRET, requireSharedKey: true } },
        steps: [{ id: 'summary', type: 'llm', baseUrl: 'http://127.0.0.1:9/v1', model: 'm', apiKey: LLM_KEY, prompt: 'hi' }],
      }),
    });
    expect(created.status).toBe(201);
    expect(await stop(first)).toBe(0);
    rotation = await rotateMaster(dataDir, NEW_MASTER, OLD_MASTER);
  });

  const signed = () => ({ 'x-hub-signature-256': `sha256=${createHmacHex(SIGNATURE_SECRET, '{"n":1}')}` });

  it('re-encrypts all three secrets (shared key, signature secret, LLM key) and exits 0', () => {
    expect(rotation.code).toBe(0);
    expect(rotation.stdout).toContain('re-encrypted 3 secrets');
  });

  it('is idempotent: a second run re-encrypts nothing', async () => {
    const again = await rotateMaster(dataDir, NEW_MASTER, NEW_MASTER);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('re-encrypted 0 secrets');
  });

  it('with the new key the old shared key and signature secret still authenticate', async () => {
    const second = await serve(dataDir, NEW_MASTER);
    try {
      const answer = await webhook(second.url!, { key: SHARED_KEY, headers: signed() });
      expect(answer.status).toBe(200);
      expect(answer.body.workflow_started).toBe(true);
      expect(await webhook(second.url!, { key: 'wrong-key-wrong-key', headers: signed() })).toStrictEqual({ status: 401, body: { error: 'Invalid shared key' } });
    } finally {
      expect(await stop(second)).toBe(0);
    }
  });

  it('starting with only the old key after the rotation refuses to start (exit 2), naming HOOKFLOW_MASTER_KEY and no secret', async () => {
    const stale = await serve(dataDir, OLD_MASTER).then(
      () => { throw new Error('a node with the old key started'); },
      (error: Error) => error.message,
    );
    expect(stale).toMatch(/exited early \(2\)/);
    expect(stale).toMatch(/HOOKFLOW_MASTER_KEY/);
    expect(stale).not.toContain(SHARED_KEY);
    expect(stale).not.toContain(OLD_MASTER);
  });

  it('never writes a secret in plaintext to the data dir', () => {
    const bytes = dataDirBytes(dataDir);
    for (const secret of [SHARED_KEY, SIGNATURE_SECRET, LLM_KEY, OLD_MASTER, NEW_MASTER]) expect(bytes.includes(secret)).toBe(false);
  });
});

describe('keys rotate-master with a generated master.key file', () => {
  it('replaces the generated master.key (keeping the old one aside), so a plain restart works', async () => {
    const dataDir = tempDir();
    const first = await serve(dataDir);
    const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    await fetch(`${first.url}/api/workspaces`, { method: 'POST', headers: admin, body: JSON.stringify({ id: 'shop', name: 'Shop' }) });
    const created = await fetch(`${first.url}/api/workspaces/shop/workflows`, { method: 'POST', headers: admin, body: JSON.stringify({ id: 'orders', name: 'Orders', trigger: { type: 'webhook', sharedKey: SHARED_KEY } }) });
    expect(created.status).toBe(201);
    expect(await stop(first)).toBe(0);
    const fileKey = readFileSync(join(dataDir, 'master.key'), 'utf8').trim();

    const rotation = await rotateMaster(dataDir, NEW_MASTER);
    expect(rotation.code).toBe(0);
    expect(rotation.stdout).toContain('re-encrypted 1 secrets');
    expect(rotation.stdout).toContain('master.key now holds the new key');
    expect(readFileSync(join(dataDir, 'master.key'), 'utf8').trim()).toBe(NEW_MASTER);
    expect(readFileSync(join(dataDir, 'master.key.previous'), 'utf8').trim()).toBe(fileKey);
    expect(statSync(join(dataDir, 'master.key')).mode & 0o777).toBe(0o600);

    const withFile = await serve(dataDir);
    expect((await webhook(withFile.url!, { key: SHARED_KEY })).status).toBe(200);
    expect(await stop(withFile)).toBe(0);

    // Run again: nothing to do, and master.key.previous still holds the old key, its last copy.
    const again = await rotateMaster(dataDir, NEW_MASTER);
    expect([again.code, again.stdout]).toEqual([0, expect.stringContaining("re-encrypted 0 secrets; the data dir's master.key already held the new key")]);
    expect(readFileSync(join(dataDir, 'master.key.previous'), 'utf8').trim()).toBe(fileKey);
  });

  it('a secret written under the old key while the rotation ran stays readable, and a second run re-encrypts it', async () => {
    const dataDir = tempDir();
    const first = await serve(dataDir);
    const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    await fetch(`${first.url}/api/workspaces`, { method: 'POST', headers: admin, body: JSON.stringify({ id: 'shop', name: 'Shop' }) });
    expect((await rotateMaster(dataDir, NEW_MASTER)).code).toBe(0);
    // `first` still runs with the old key in memory: what it encrypts now is under the old key.
    const late = await fetch(`${first.url}/api/workspaces/shop/workflows`, { method: 'POST', headers: admin, body: JSON.stringify({ id: 'orders', name: 'Orders', trigger: { type: 'webhook', sharedKey: SHARED_KEY } }) });
    expect(late.status).toBe(201);
    expect(await stop(first)).toBe(0);

    const restarted = await serve(dataDir);
    expect((await webhook(restarted.url!, { key: SHARED_KEY })).status).toBe(200);
    expect(await stop(restarted)).toBe(0);
    const again = await rotateMaster(dataDir, NEW_MASTER);
    expect([again.code, again.stdout]).toEqual([0, expect.stringContaining('re-encrypted 1 secrets')]);
  });

  it('refuses to rotate a data dir that has no master key (a wrong HOOKFLOW_DATA_DIR)', async () => {
    const dataDir = tempDir();
    const result = await rotateMaster(dataDir, NEW_MASTER);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('nothing to rotate');
    expect(existsSync(join(dataDir, 'master.key'))).toBe(false);
  });

  it('refuses a --new-key that is not base64 of 32 bytes, exit code non-zero, nothing changed', async () => {
    const dataDir = tempDir();
    const result = await rotateMaster(dataDir, 'dG9vLXNob3J0', OLD_MASTER);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('must be base64 of exactly 32 bytes');
    expect(existsSync(join(dataDir, 'master.key'))).toBe(false);
  });
});

function createHmacHex(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}
