import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread from a module given as its compiled `.js` URL. When only the `.ts`
 * source exists (the test runner, `tsx`), the thread loads it through tsx's loader, which a
 * worker does not inherit on its own.
 */
export function startThread(moduleUrl: URL, options: WorkerOptions): Worker {
  if (existsSync(fileURLToPath(moduleUrl))) return new Worker(moduleUrl, options);
  const sourceUrl = moduleUrl.href.replace(/\.js$/, '.ts');
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(sourceUrl)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
