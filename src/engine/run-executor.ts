import type { StepDefinition, WorkflowDefinition } from '../config/workflow-definition.js';
import { HookflowError, isHookflowError, toError } from '../errors/catalogue.js';
import type { AttemptRef, ClaimedRun, StepCondition, StepResultRecord, StepStatus } from '../store/store.js';
import type { Reservation } from '../util/memory-budget.js';
import { evaluateCondition } from './expressions/conditions.js';
import type { ExpressionCompiler } from './expressions/cel-engine.js';
import { initialMemory, memoryAfter } from './memory.js';
import type { StepKind, StepOutcome } from './step.js';

/** One plugin per step type; the map's type makes a missing kind a compile error. */
export type StepKinds = { readonly [T in StepDefinition['type']]: StepKind<Extract<StepDefinition, { type: T }>> };

export interface ExecuteRunContext {
  ref: AttemptRef;
  signal: AbortSignal;
  /** Stores a finished step durably; resolves false when the attempt lost its lease. */
  checkpoint: (step: StepResultRecord) => Promise<boolean>;
  /** Called after each step with its type, status and reported usage (LLM tokens), for metrics. */
  onStep?: (type: string, status: StepStatus, usage?: Record<string, unknown> | null) => void;
  /** The run's share of the memory budget (see StepContext). */
  reservation?: Reservation;
}

export interface RunExecutorOptions {
  steps: StepKinds;
  clock: () => number;
  /** Compiles steps' `if` conditions (cached by source). */
  expressions: ExpressionCompiler;
}

interface StepEnd {
  status: StepStatus;
  outcome: Partial<StepOutcome>;
  error: string | null;
  memoryWrites: Record<string, unknown>;
  condition: StepCondition | null;
  continued?: boolean;
}

/**
 * Runs a claimed run's steps in order, from the first one not finished by an earlier attempt.
 * Each finished step (succeeded, skipped by its `if`, or failed under `continueOnError`) is
 * checkpointed before the next starts, so a crash repeats at most the step that was running. A
 * failing step without `continueOnError` is checkpointed as failed and its error re-thrown
 * (transient or not) for the queue to decide on a retry. The LAST step's result is not
 * checkpointed here but returned, to be stored with the run's completion in one write.
 */
export function createRunExecutor(options: RunExecutorOptions): (claimed: ClaimedRun, context: ExecuteRunContext) => Promise<StepResultRecord | undefined> {
  return async function executeRun(claimed, context) {
    const definition = claimed.workflow.definition as WorkflowDefinition;
    const done = new Set(claimed.finishedSteps.map((step) => step.stepId));
    let memory = memoryAfter(initialMemory(definition, claimed.event), claimed.finishedSteps);
    const lastIndex = definition.steps.length - 1;
    for (const [index, step] of definition.steps.entries()) {
      if (done.has(step.id)) continue;
      if (context.signal.aborted) throw new HookflowError('HOOKFLOW_ERR_LEASE_LOST', 'Run stopped before step', { transient: true });
      const startedAt = options.clock();
      const record = (end: StepEnd): StepResultRecord => ({
        runId: claimed.run.id,
        stepId: step.id,
        stepIndex: index,
        type: step.type,
        attempt: context.ref.attempt,
        status: end.status,
        startedAt,
        finishedAt: options.clock(),
        output: end.outcome.output ?? null,
        memoryWrites: end.memoryWrites,
        error: end.error,
        logs: end.outcome.logs ?? [],
        usage: end.outcome.usage ?? null,
        ...(end.condition === null ? {} : { condition: end.condition }),
        ...(end.continued === true ? { continued: true } : {}),
      });
      let end: StepEnd;
      let condition: StepCondition | null = null;
      try {
        if (step.if !== undefined) condition = { expression: step.if, value: evaluateCondition(options.expressions, step.if, memory) };
        if (condition?.value === false) {
          end = { status: 'skipped', outcome: {}, error: null, memoryWrites: {}, condition };
        } else {
          const outcome = await runStep(options.steps, step, {
            memory,
            workspaceId: claimed.run.workspaceId,
            workflowId: claimed.run.workflowId,
            runId: claimed.run.id,
            attempt: context.ref.attempt,
            signal: context.signal,
            ...(context.reservation === undefined ? {} : { reservation: context.reservation }),
          });
          const memoryWrites: Record<string, unknown> = { ...(outcome.saved ?? {}) };
          if (step.output !== undefined) memoryWrites[step.output] = outcome.output ?? null;
          end = { status: 'succeeded', outcome, error: null, memoryWrites, condition };
        }
      } catch (thrown) {
        const error = isHookflowError(thrown) ? thrown : new HookflowError('HOOKFLOW_ERR_STEP_FAILED', toError(thrown).message, { cause: thrown });
        const details = error.details !== undefined && typeof error.details === 'object' ? (error.details as Partial<StepOutcome>) : {};
        // A stopped run (lease lost, shutdown) is not the step's failure: never continue past it.
        const continues = step.continueOnError === true && !context.signal.aborted;
        end = { status: 'failed', outcome: { output: 'status' in details ? details : null }, error: `${error.code}: ${error.message}`, memoryWrites: {}, condition, continued: continues };
        if (!continues) {
          context.onStep?.(step.type, 'failed');
          await context.checkpoint(record(end));
          throw error;
        }
      }
      const finished = record(end);
      context.onStep?.(step.type, end.status, end.outcome.usage);
      if (index === lastIndex) return finished;
      const owned = await context.checkpoint(finished);
      if (!owned) throw new HookflowError('HOOKFLOW_ERR_LEASE_LOST', 'Another attempt owns this run now');
      memory = { ...memory, ...end.memoryWrites };
    }
    return undefined;
  };
}

async function runStep(steps: RunExecutorOptions['steps'], step: StepDefinition, context: Parameters<StepKind['run']>[1]): Promise<StepOutcome> {
  // The map pairs each type with its kind, so the step's type narrows the kind's parameter.
  const kind = steps[step.type] as StepKind<StepDefinition>;
  return kind.run(step, context);
}
