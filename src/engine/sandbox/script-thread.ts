/**
 * A script thread: runs user scripts with `runScript`, one at a time and in the order they
 * arrive, for the ScriptPool (which may queue a few here ahead). The QuickJS evaluation is
 * synchronous; on its own thread it never blocks webhook ingest.
 */
import { parentPort } from 'node:worker_threads';
import { isHookflowError } from '../../errors/catalogue.js';
import { runScript, type ScriptRunOptions, type ScriptRunResult } from './script-sandbox.js';
import type { ScriptThreadReply } from './script-pool.js';

let previous: Promise<void> = Promise.resolve();

parentPort?.on('message', (request: { id: number; options: ScriptRunOptions }) => {
  // A reply that cannot be sent is answered as a failure, so the chain never stalls.
  previous = previous.then(() => run(request)).catch((error: unknown) => replyFailure(request.id, error));
});

async function run(request: { id: number; options: ScriptRunOptions }): Promise<void> {
  let result: ScriptRunResult;
  try {
    result = await runScript(request.options);
  } catch (error) {
    return replyFailure(request.id, error);
  }
  parentPort?.postMessage({ id: request.id, ok: true, result } satisfies ScriptThreadReply);
}

function replyFailure(id: number, error: unknown): void {
  parentPort?.postMessage({
    id,
    ok: false,
    error: {
      code: isHookflowError(error) ? error.code : 'HOOKFLOW_ERR_SANDBOX',
      message: error instanceof Error ? error.message : String(error),
      transient: isHookflowError(error) ? error.transient : false,
    },
  } satisfies ScriptThreadReply);
}
