import { isDeepStrictEqual } from 'node:util';
import type { StepDefinition, WorkflowDefinition } from '../config/workflow-definition.js';
import { HookflowError, isHookflowError, toError } from '../errors/catalogue.js';
import type { ClaimedRun, EventRecord, StepCondition, StepResultRecord } from '../store/store.js';
import { initialMemory, memoryAfter } from './memory.js';
import type { ExpressionCompiler } from './expressions/cel-engine.js';
import { createRunExecutor, type StepKinds } from './run-executor.js';
import { SecretScope, type SecretAccess } from './secret-scope.js';
import type { StepKind } from './step.js';
import { renderTemplate, renderText } from './templates.js';

/** `mock`: HTTP and LLM steps return recorded outputs and send nothing; `live`: every step really runs. */
export type TestRunMode = 'mock' | 'live';

/** A step as an earlier run recorded it: what a test run compares against and, in mock mode, replays. */
export interface RecordedStep {
  status: string;
  output: unknown;
}

export interface TestRunInput {
  mode: TestRunMode;
  definition: WorkflowDefinition;
  event: EventRecord;
  workspaceId: string;
  workflowId: string;
  /** Id the steps see as their run id. */
  runId: string;
  /** The real step kinds (live mode uses all of them; mock mode only `script`). */
  kinds: StepKinds;
  secrets: SecretAccess | undefined;
  /** Steps of the chosen earlier run, by step id: diffed against, and replayed in mock mode. */
  baseline: ReadonlyMap<string, RecordedStep> | undefined;
  /** Outputs given for steps (mock mode), by step id; they win over the baseline's. */
  stubs: Readonly<Record<string, unknown>>;
  /** Compiles steps' `if` conditions, as for production runs. */
  expressions: ExpressionCompiler;
  clock: () => number;
  signal: AbortSignal;
}

/** One step of a test run as the API answers it. */
export interface TestRunStep {
  id: string;
  type: string;
  /** `succeeded`, `failed`, `skipped` (its `if` was false), or `not_run` (after an earlier step failed). */
  status: string;
  /** An HTTP or LLM step's fields after templates, secrets shown as `[secret:NAME]`; null for other kinds or when rendering failed. */
  input: unknown;
  output: unknown;
  error: string | null;
  logs: string[];
  /** The step's `if` and its value, when it has one (a `skipped` step's value is false). */
  condition?: StepCondition;
  /** Against the baseline run's step: what differs (absent without a baseline). */
  diff?: { changed: boolean; fields: string[]; baseline: RecordedStep | null };
}

/**
 * Runs a definition once against an event, outside the queue: nothing is claimed, checkpointed
 * or stored by the engine. In mock mode HTTP and LLM steps make no outbound call: they return
 * the stub or the baseline's recorded output, and fail when there is neither.
 */
export async function executeTestRun(input: TestRunInput): Promise<{ status: 'succeeded' | 'failed'; steps: TestRunStep[] }> {
  const recorded = (step: StepDefinition): unknown => {
    if (Object.hasOwn(input.stubs, step.id)) return input.stubs[step.id];
    const baseline = input.baseline?.get(step.id);
    if (baseline !== undefined && baseline.status === 'succeeded') return baseline.output;
    throw new HookflowError('HOOKFLOW_ERR_STEP_FAILED', `Mock mode: no recorded output for step "${step.id}" (give one in "stubs" or choose a "baselineRunId" where it succeeded)`);
  };
  const replay: StepKind = { type: 'http', run: async (step) => ({ output: recorded(step) }) };
  const kinds: StepKinds = input.mode === 'live' ? input.kinds : { ...input.kinds, http: replay as StepKinds['http'], llm: { ...replay, type: 'llm' } as StepKinds['llm'] };
  const records: StepResultRecord[] = [];
  const execute = createRunExecutor({ steps: kinds, clock: input.clock, expressions: input.expressions });
  const now = input.clock();
  const claimed: ClaimedRun = {
    run: {
      id: input.runId, workspaceId: input.workspaceId, workflowId: input.workflowId, workflowVersion: 0, eventId: input.event.id, status: 'running',
      attempts: 1, maxAttempts: 1, createdAt: now, availableAt: now, startedAt: now, finishedAt: null, leaseOwner: null, leaseExpiresAt: null, lastError: null, replayOf: null,
    },
    event: input.event,
    workflow: { workspaceId: input.workspaceId, id: input.workflowId, version: 0, name: 'test run', enabled: true, definition: input.definition, createdAt: now, updatedAt: now },
    finishedSteps: [],
  };
  let status: 'succeeded' | 'failed' = 'succeeded';
  try {
    const last = await execute(claimed, {
      ref: { runId: input.runId, attempt: 1, workerId: 'test-run' },
      signal: input.signal,
      checkpoint: async (step) => {
        records.push(step);
        return true;
      },
    });
    if (last !== undefined) records.push(last);
  } catch (thrown) {
    status = 'failed';
    // A failing step was recorded before the throw; anything else failed outside a step.
    if (records.at(-1)?.status !== 'failed') throw isHookflowError(thrown) ? thrown : new HookflowError('HOOKFLOW_ERR_INTERNAL', toError(thrown).message, { cause: thrown });
  }
  const initial = initialMemory(input.definition, input.event);
  const steps: TestRunStep[] = [];
  for (const [index, step] of input.definition.steps.entries()) {
    const record = records[index];
    const view: TestRunStep = record === undefined
      ? { id: step.id, type: step.type, status: 'not_run', input: null, output: null, error: null, logs: [] }
      : {
          id: step.id, type: step.type, status: record.status,
          // A skipped step sent nothing: no input to show.
          input: record.status === 'skipped' ? null : await renderedInput(step, memoryAfter(initial, records.slice(0, index)), input),
          output: record.output, error: record.error, logs: record.logs,
          ...(record.condition == null ? {} : { condition: record.condition }),
        };
    if (input.baseline !== undefined) view.diff = diffStep(view, input.baseline.get(step.id) ?? null);
    steps.push(view);
  }
  return { status, steps };
}

/**
 * What an HTTP or LLM step sent: its templated fields (secrets as `[secret:NAME]`). Null for
 * other kinds (a script renders nothing; a respond step's output is its rendered fields) and
 * when a template fails.
 */
async function renderedInput(step: StepDefinition, memory: Record<string, unknown>, input: TestRunInput): Promise<unknown> {
  if (step.type !== 'http' && step.type !== 'llm') return null;
  const fields = step.type === 'http' ? [step.url, step.headers, step.body] : [step.system, step.prompt];
  const scope = await SecretScope.open({ access: input.secrets, workspaceId: input.workspaceId, memory, fields });
  try {
    if (step.type === 'http') {
      return scope.redact({
        method: step.method,
        url: renderText(step.url, scope.memory),
        headers: Object.fromEntries(Object.entries(step.headers ?? {}).map(([name, value]) => [name.toLowerCase(), renderText(value, scope.memory)])),
        ...(step.body === undefined ? {} : { body: renderTemplate(step.body, scope.memory) }),
      });
    }
    return scope.redact({
      baseUrl: step.baseUrl,
      model: step.model,
      ...(step.system === undefined ? {} : { system: renderText(step.system, scope.memory) }),
      prompt: renderText(step.prompt, scope.memory),
    });
  } catch {
    return null;
  }
}

function diffStep(step: TestRunStep, baseline: RecordedStep | null): NonNullable<TestRunStep['diff']> {
  if (baseline === null) return { changed: step.status !== 'not_run', fields: step.status === 'not_run' ? [] : ['status', 'output'], baseline: null };
  const fields: string[] = [];
  if (step.status !== baseline.status) fields.push('status');
  if (!isDeepStrictEqual(step.output, baseline.output)) fields.push('output');
  return { changed: fields.length > 0, fields, baseline };
}
