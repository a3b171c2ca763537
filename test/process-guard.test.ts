import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The process guard as `hookflow serve` installs it, in a real process (the built dist/, as the
 * CLI runs it): a stack overflow thrown from a timer and an unhandled rejection are logged and
 * survived; a failed internal assertion ends the process with 1 after a `fatal` line.
 */
const dist = (file: string) => pathToFileURL(join(import.meta.dirname, '..', 'dist', file)).href;

function runGuarded(body: string): { status: number | null; lines: { level: number; msg: string }[]; stdout: string } {
  const script = `
    import { installProcessGuard } from ${JSON.stringify(dist('app/process-guard.js'))};
    import { createLogger } from ${JSON.stringify(dist('telemetry/logger.js'))};
    installProcessGuard({ logger: createLogger({ level: 'info' }) });
    ${body}
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  const lines = result.stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { level: number; msg: string });
  return { status: result.status, lines, stdout: result.stdout };
}

describe('the process guard in a real process', () => {
  it('survives a stack overflow thrown from setImmediate and an unhandled rejection', () => {
    const { status, lines, stdout } = runGuarded(`
      const deep = JSON.parse('['.repeat(10000) + ']'.repeat(10000));
      setImmediate(() => structuredClone(deep));
      Promise.reject(new Error('nobody awaited this'));
      // Runs only if the process is still there after both.
      setImmediate(() => setImmediate(() => { process.stdout.write('ALIVE\\n'); }));
    `);
    expect(status).toBe(0);
    expect(stdout).toContain('ALIVE');
    expect(lines.map((line) => [line.level, line.msg])).toEqual(expect.arrayContaining([
      [50, 'uncaught exception survived; this is a bug, please report it'],
      [50, 'unhandled promise rejection survived; this is a bug, please report it'],
    ]));
  });

  it('exits 1 on a failed internal assertion', () => {
    const { status, lines, stdout } = runGuarded(`
      setImmediate(() => { throw Object.assign(new Error('invariant broken'), { code: 'ERR_INTERNAL_ASSERTION' }); });
      setImmediate(() => setImmediate(() => { process.stdout.write('ALIVE\\n'); }));
    `);
    expect(status).toBe(1);
    expect(stdout).not.toContain('ALIVE');
    expect(lines).toEqual([expect.objectContaining({ level: 60, msg: 'uncaught exception; the process state cannot be trusted, exiting' })]);
  });
});
