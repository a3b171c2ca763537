import type { ScriptStepDefinition } from '../../../config/workflow-definition.js';
import type { ScriptPool } from '../../sandbox/script-pool.js';
import type { StepKind } from '../../step.js';
import { forScript } from '../../../util/exact-json.js';

/** Default time limit of a script, ms. */
export const DEFAULT_SCRIPT_TIMEOUT_MS = 1000;
/** Default memory limit of a script, bytes. */
export const DEFAULT_SCRIPT_MEMORY_BYTES = 32 * 1024 * 1024;

/**
 * The script step: user JavaScript in a QuickJS (WebAssembly) sandbox with `memory.load`,
 * `memory.save` and `console.log`; its return value is the output. Scripts run on the pool's
 * threads, never on the event loop that answers webhooks.
 */
export function createScriptStep(deps: { pool: ScriptPool }): StepKind<ScriptStepDefinition> {
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
      return { output: result.output, saved: result.saved, logs: result.logs };
    },
  };
}
