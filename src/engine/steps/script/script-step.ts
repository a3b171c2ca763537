import type { ScriptStepDefinition } from '../../../config/workflow-definition.js';
import type { ScriptPool } from '../../sandbox/script-pool.js';
import { jsonTextOf } from '../../../util/json-text.js';
import type { StepKind } from '../../step.js';
import { forScript } from '../../../util/exact-json.js';
import { HookflowError } from '../../../errors/catalogue.js';
import { exceedsDepth } from '../../../util/value-depth.js';

/** Default time limit of a script, ms. */
export const DEFAULT_SCRIPT_TIMEOUT_MS = 1000;
/** Default memory limit of a script, bytes. */
export const DEFAULT_SCRIPT_MEMORY_BYTES = 32 * 1024 * 1024;

/**
 * The script step: user JavaScript in a QuickJS (WebAssembly) sandbox with `memory.load`,
 * `memory.save` and `console.log`; its return value is the output. Scripts run on the pool's
 * threads, never on the event loop that answers webhooks.
 */
export function createScriptStep(deps: { pool: ScriptPool; /** Deepest nesting of a result or saved value (HOOKFLOW_MAX_JSON_DEPTH). */ maxJsonDepth: number }): StepKind<ScriptStepDefinition> {
  return {
    type: 'script',
    async run(step, context) {
      const result = await deps.pool.run({
        code: step.code,
        // Numbers a double cannot hold exactly reach scripts as strings of their digits.
        ...memoryAsText(context.memory),
        timeoutMs: step.timeoutMs ?? DEFAULT_SCRIPT_TIMEOUT_MS,
        memoryLimitBytes: step.memoryLimitBytes ?? DEFAULT_SCRIPT_MEMORY_BYTES,
      });
      // Results go on to the store and to later scripts' threads; too deep a value would
      // overflow the stack of that hand-over.
      for (const [name, value] of [['the return value', result.output], ...Object.entries(result.saved).map(([key, saved]) => [`saved "${key}"`, saved])] as const) {
        if (exceedsDepth(value, deps.maxJsonDepth)) {
          throw new HookflowError('HOOKFLOW_ERR_SANDBOX', `Script result: ${name} is nested deeper than ${deps.maxJsonDepth} levels (HOOKFLOW_MAX_JSON_DEPTH)`);
        }
      }
      return { output: result.output, saved: result.saved, logs: result.logs };
    },
  };
}

/**
 * The run's memory for a script thread: each variable as the JSON text of its script form (exact
 * numbers as strings), one flat copy to the thread, made once per value and run rather than a
 * converted deep copy and a structured clone per step; values without one as they are.
 */
function memoryAsText(memory: Readonly<Record<string, unknown>>): { memory: Record<string, unknown>; memoryJson: Record<string, string> } {
  const values: Record<string, unknown> = {};
  const texts: Record<string, string> = {};
  for (const [name, value] of Object.entries(memory)) {
    let text: string | undefined;
    try {
      text = jsonTextOf(value, forScript);
    } catch {
      text = undefined; // not JSON (a cycle, a BigInt): the sandbox reports it if the script loads it
    }
    if (text === undefined) values[name] = value;
    else texts[name] = text;
  }
  return { memory: values, memoryJson: texts };
}
