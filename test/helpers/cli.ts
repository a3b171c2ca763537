import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** The built CLI (`npm test` builds first). */
export const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

export interface CliProcess {
  child: ChildProcess;
  /** Base URL for `serve`; null for `worker`. */
  url: string | null;
  output: () => string;
}

/**
 * Starts `hookflow serve` or `hookflow worker` as a child process with only the given env
 * (plus PATH), and resolves once it is up: `serve` when it logs its URL, `worker` at once.
 */
export function startCli(command: 'serve' | 'worker', env: Record<string, string>): Promise<CliProcess> {
  const child = spawn(process.execPath, [CLI, command], { env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (command === 'worker' && /workers started/.test(output)) resolve({ child, url: null, output: () => output });
      const match = /"url":"(http:\/\/[^"]+)"[^\n]*hookflow listening/.exec(output);
      if (command === 'serve' && match?.[1] !== undefined) resolve({ child, url: match[1], output: () => output });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`hookflow ${command} exited early (${code}): ${output}`)));
  });
}

/** Waits for a child to exit (after a kill). */
export function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}
