import { execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, exited, startCli, type CliProcess } from './helpers/cli.js';
import { createTestSchema, describeWithPostgres, type TestSchema } from './helpers/postgres.js';

/*
 * The admin token lives in the database as a SHA-256, so every node accepts the same token
 * without each being given it, and `hookflow keys rotate-admin` replaces it on every node at once.
 */

const GENERATED = /hookflow admin token \(shown once, store it now\):\n {2}(\S+)/;
const status = (url: string, token: string): Promise<number> =>
  fetch(`${url}/api/workspaces`, { headers: { authorization: `Bearer ${token}` } }).then((response) => response.status);

/** Runs `hookflow keys rotate-admin` against the given storage; resolves with the new token. */
function rotateAdmin(env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, 'keys', 'rotate-admin'], { env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      const token = /shown once, store it now\):\n {2}(\S+)/.exec(stdout)?.[1];
      if (error !== null || token === undefined) reject(new Error(`rotate-admin failed: ${stdout}${stderr}`));
      else resolve(token);
    });
  });
}

/** Why a start failed, or 'started'. */
const outcome = (started: Promise<CliProcess>, children: ChildProcess[]): Promise<string> =>
  started.then(
    (node) => {
      children.push(node.child);
      return 'started';
    },
    (error: Error) => error.message,
  );

describe('the admin token on one node (SQLite)', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  const serve = async (dataDir: string, env: Record<string, string> = {}): Promise<CliProcess> => {
    const node = await startCli('serve', { PORT: '0', HOST: '127.0.0.1', HOOKFLOW_DATA_DIR: dataDir, HOOKFLOW_WORKER_CONCURRENCY: '0', ...env });
    children.push(node.child);
    return node;
  };
  const stop = async (node: CliProcess): Promise<void> => {
    node.child.kill('SIGTERM');
    await exited(node.child);
  };
  const fresh = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'hookflow-admin-'));
    dirs.push(dir);
    return join(dir, 'data');
  };
  afterAll(async () => {
    for (const child of children) {
      child.kill('SIGTERM');
      await exited(child);
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('a generated token is shown once and kept only as a digest in the database; a rotation holds at once, and a stale HOOKFLOW_ADMIN_TOKEN stops the start (exit 2)', async () => {
    const dataDir = fresh();
    const first = await serve(dataDir);
    const token = GENERATED.exec(first.output())?.[1] as string;
    expect(token).toMatch(/^hf_admin_/);
    expect(await status(first.url as string, token)).toBe(200);
    expect(await status(first.url as string, `${token}x`)).toBe(401);
    expect(existsSync(join(dataDir, 'admin-token.sha256'))).toBe(false);
    const digest = createHash('sha256').update(token).digest('hex');
    const files = readdirSync(dataDir).map((file) => readFileSync(join(dataDir, file)));
    expect(files.some((bytes) => bytes.includes(digest))).toBe(true);
    expect(files.some((bytes) => bytes.includes(token))).toBe(false);

    // A console session opened with the token ends with it.
    const signIn = await fetch(`${first.url as string}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    expect(signIn.status).toBe(201);
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const sessionStatus = async (): Promise<number> => (await fetch(`${first.url as string}/api/workspaces`, { headers: { cookie } })).status;
    expect(await sessionStatus()).toBe(200);

    // Rotated from another process while the node runs: the node follows on its next call.
    const rotated = await rotateAdmin({ HOOKFLOW_DATA_DIR: dataDir });
    expect(rotated).not.toBe(token);
    expect(await status(first.url as string, token)).toBe(401);
    expect(await status(first.url as string, rotated)).toBe(200);
    expect(await sessionStatus()).toBe(401);
    await stop(first);

    const stale = await outcome(serve(dataDir, { HOOKFLOW_ADMIN_TOKEN: token }), children);
    expect(stale).toMatch(/exited early \(2\)/);
    expect(stale).toContain('HOOKFLOW_ADMIN_TOKEN is not this database');
    expect(stale).not.toContain(token);

    const again = await serve(dataDir);
    expect(again.output()).not.toMatch(GENERATED);
    expect(await status(again.url as string, rotated)).toBe(200);
    await stop(again);
    const given = await serve(dataDir, { HOOKFLOW_ADMIN_TOKEN: rotated });
    expect(await status(given.url as string, rotated)).toBe(200);
    await stop(given);
  });

  it('the digest an older version kept in the data dir is carried over: its token still works', async () => {
    const dataDir = fresh();
    const legacy = 'hf_admin_legacy-token-from-before-0123';
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dataDir, 'admin-token.sha256'), `${createHash('sha256').update(legacy).digest('hex')}\n`, { mode: 0o600 });
    const node = await serve(dataDir);
    expect(node.output()).not.toMatch(GENERATED);
    expect(await status(node.url as string, legacy)).toBe(200);
    await stop(node);
  });
});

await describeWithPostgres('the admin token across nodes (PostgreSQL)', () => {
  let schema: TestSchema;
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  const ADMIN = 'cluster-admin-token-from-env-0123';
  const MASTER = Buffer.alloc(32, 7).toString('base64');
  const serve = async (env: Record<string, string> = {}): Promise<CliProcess> => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-admin-pg-'));
    dirs.push(dataDir);
    const node = await startCli('serve', { PORT: '0', HOST: '127.0.0.1', DATABASE_URL: schema.connectionString, HOOKFLOW_MASTER_KEY: MASTER, HOOKFLOW_DATA_DIR: dataDir, HOOKFLOW_WORKER_CONCURRENCY: '0', ...env });
    children.push(node.child);
    return node;
  };
  beforeAll(async () => {
    schema = await createTestSchema();
  });
  afterAll(async () => {
    for (const child of children) {
      child.kill('SIGTERM');
      await exited(child);
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await schema?.drop();
  });

  it('a node started without HOOKFLOW_ADMIN_TOKEN accepts the token another node was given; another token stops the start; a rotation holds on every node', async () => {
    const a = await serve({ HOOKFLOW_ADMIN_TOKEN: ADMIN });
    const b = await serve();
    expect(b.output()).not.toMatch(GENERATED);
    expect(await status(a.url as string, ADMIN)).toBe(200);
    expect(await status(b.url as string, ADMIN)).toBe(200);

    const other = await outcome(serve({ HOOKFLOW_ADMIN_TOKEN: 'another-admin-token-0123456789' }), children);
    expect(other).toMatch(/exited early \(2\)/);
    expect(other).toContain('HOOKFLOW_ADMIN_TOKEN');

    const rotated = await rotateAdmin({ DATABASE_URL: schema.connectionString, HOOKFLOW_DATA_DIR: dirs[0] as string });
    for (const node of [a, b]) {
      expect(await status(node.url as string, ADMIN)).toBe(401);
      expect(await status(node.url as string, rotated)).toBe(200);
    }
  });
});
