import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI } from './helpers/cli.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Runs `hookflow serve` to its exit; a process still running after 20 s is killed (signal SIGKILL). */
function serveUntilExit(env: Record<string, string>): Promise<{ code: number | null; signal: string | null; output: string }> {
  const child = spawn(process.execPath, [CLI, 'serve'], { env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) => child.once('exit', (code, signal) => {
    clearTimeout(killer);
    resolve({ code, signal, output });
  }));
}

describe('hookflow serve, first start', () => {
  it('exits 1 when it cannot listen, instead of hanging on the storage it had opened, and has shown the generated admin token', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-start-'));
    dirs.push(dataDir);
    try {
      const result = await serveUntilExit({ HOOKFLOW_DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: String((taken.address() as AddressInfo).port) });
      expect([result.code, result.signal]).toEqual([1, null]);
      expect(result.output).toContain('hookflow could not start');
      // The token's digest is stored by now, so a later start will not show it again: it must be shown here.
      expect(result.output).toMatch(/hookflow admin token \(shown once, store it now\):\n {2}\S+/);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  }, 30_000);
});
