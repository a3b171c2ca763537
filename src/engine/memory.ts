import type { WorkflowDefinition } from '../config/workflow-definition.js';
import type { EventRecord, StepResultRecord } from '../store/store.js';

/**
 * The memory a run starts with (API.md): the trigger's `headerMemory` and `bodyMemory`
 * variables, and `webhook`, the request's metadata.
 */
export function initialMemory(definition: WorkflowDefinition, event: EventRecord): Record<string, unknown> {
  const memory: Record<string, unknown> = { webhook: event.meta };
  if (definition.trigger.headerMemory !== undefined) memory[definition.trigger.headerMemory] = event.headers;
  if (definition.trigger.bodyMemory !== undefined) memory[definition.trigger.bodyMemory] = event.body;
  return memory;
}

/** Memory after finished steps: the initial memory plus each succeeded step's writes, in order. */
export function memoryAfter(initial: Record<string, unknown>, steps: readonly StepResultRecord[]): Record<string, unknown> {
  const memory = { ...initial };
  for (const step of steps) if (step.status === 'succeeded') Object.assign(memory, step.memoryWrites);
  return memory;
}
