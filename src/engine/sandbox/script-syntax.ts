import { HookflowError } from '../../errors/catalogue.js';
import { GUEST_SCRIPT_LINE_OFFSET } from './guest-prelude.js';
import { acquireModule } from './quickjs-modules.js';

/** A script's syntax error: QuickJS's message and where, in the script's own lines (1-based). */
export interface ScriptSyntaxError {
  message: string;
  line: number;
  column: number;
}

// Compiling needs far less than running; the time limit only guards against a pathological parse.
const CHECK_MEMORY_BYTES = 32 * 1024 * 1024;
const CHECK_TIMEOUT_MS = 2000;

/**
 * Compiles `code` the way a script step does (a function body, so `return` is allowed) without
 * running any of it: `new Function(code)` only compiles. Used by the save-time checks.
 *
 * @returns the syntax error, or undefined when the script compiles.
 */
export async function checkScriptSyntax(code: string): Promise<ScriptSyntaxError | undefined> {
  let sandboxModule = await acquireModule(CHECK_MEMORY_BYTES);
  if (sandboxModule.broken) sandboxModule = await acquireModule(CHECK_MEMORY_BYTES);
  const deadline = Date.now() + CHECK_TIMEOUT_MS;
  const runtime = sandboxModule.quickjs.newRuntime({ memoryLimitBytes: CHECK_MEMORY_BYTES, interruptHandler: () => Date.now() >= deadline });
  try {
    const context = runtime.newContext();
    try {
      const source = context.newString(code);
      context.setProp(context.global, '__hookflowSource', source);
      source.dispose();
      const result = context.evalCode('new Function(__hookflowSource)', 'check.js');
      if (result.error === undefined) {
        result.value.dispose();
        return undefined;
      }
      const thrown: unknown = context.dump(result.error);
      result.error.dispose();
      return describe(thrown);
    } finally {
      context.dispose();
    }
  } catch (error) {
    throw new HookflowError('HOOKFLOW_ERR_SANDBOX', 'Script could not be checked', { cause: error });
  } finally {
    runtime.dispose();
  }
}

function describe(thrown: unknown): ScriptSyntaxError {
  const record = typeof thrown === 'object' && thrown !== null ? (thrown as Record<string, unknown>) : {};
  const message = typeof record['message'] === 'string' ? record['message'] : String(thrown);
  const stack = typeof record['stack'] === 'string' ? record['stack'] : '';
  const where = /<input>:(\d+):(\d+)/.exec(stack);
  const line = where === null ? 1 : Math.max(1, Number(where[1]) - GUEST_SCRIPT_LINE_OFFSET);
  const column = where === null ? 1 : Number(where[2]);
  return { message: typeof record['name'] === 'string' ? `${record['name']}: ${message}` : message, line, column };
}
