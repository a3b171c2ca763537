import type { ScriptStepDefinition } from '../../../config/workflow-definition.js';
import type { ScriptPool } from '../../sandbox/script-pool.js';
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
        memory: forScript(context.memory) as Record<string, unknown>,
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
