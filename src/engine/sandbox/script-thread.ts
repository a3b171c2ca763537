/**
 * A script thread: runs user scripts with `runScript`, one at a time, for the ScriptPool. The
 * QuickJS evaluation is synchronous; on its own thread it never blocks webhook ingest.
 */
import { parentPort } from 'node:worker_threads';
import { isHookflowError } from '../../errors/catalogue.js';
import { runScript, type ScriptRunOptions } from './script-sandbox.js';
import type { ScriptThreadReply } from './script-pool.js';

parentPort?.on('message', (request: { id: number; options: ScriptRunOptions }) => {
  runScript(request.options).then(
    (result) => parentPort?.postMessage({ id: request.id, ok: true, result } satisfies ScriptThreadReply),
    (error: unknown) =>
      parentPort?.postMessage({
        id: request.id,
        ok: false,
        error: {
          code: isHookflowError(error) ? error.code : 'HOOKFLOW_ERR_SANDBOX',
          message: error instanceof Error ? error.message : String(error),
          transient: isHookflowError(error) ? error.transient : false,
        },
      } satisfies ScriptThreadReply),
  );
});
