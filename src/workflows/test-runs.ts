import { z } from 'zod';
import { describeIssues, workflowDefinitionSchema, type WorkflowDefinition } from '../config/workflow-definition.js';
import type { StepKinds } from '../engine/run-executor.js';
import type { SecretAccess } from '../engine/secret-scope.js';
import type { ExpressionCompiler } from '../engine/expressions/cel-engine.js';
import { executeTestRun, type RecordedStep, type TestRunStep } from '../engine/test-run.js';
import { HookflowError } from '../errors/catalogue.js';
import { newId } from '../store/ids.js';
import type { EventRecord, Store } from '../store/store.js';
import type { WorkflowService } from './workflow-service.js';

/** Most events one batch test run replays. */
export const MAX_BATCH_EVENTS = 100;

/** The body of `POST …/workflows/:wf/test-runs` (also documented in /api/openapi.json). */
export const testRunRequestSchema = z
  .object({
    mode: z.enum(['mock', 'live']),
    event: z.union([
      z.object({ eventId: z.string().min(1).max(64) }).strict(),
      z.object({ headers: z.record(z.string(), z.string()).default({}), body: z.unknown() }).strict(),
    ]).optional(),
    batch: z.object({ lastEvents: z.number().int().min(1).max(MAX_BATCH_EVENTS) }).strict().optional(),
    definition: z.unknown().optional(),
    baselineRunId: z.string().min(1).max(64).optional(),
    stubs: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export interface TestRunServiceOptions {
  store: Store;
  workflows: WorkflowService;
  /** The step kinds and secret access test runs use (built on first use when the process has no workers). */
  engine: () => { kinds: StepKinds; secrets: SecretAccess; expressions: ExpressionCompiler };
  clock: () => number;
}

/**
 * Test runs (docs/test-runs.md): a saved or draft definition run once against a stored or given
 * event, answered at once and never stored, so they never appear among runs or in stats. In mock
 * mode HTTP and LLM steps return recorded outputs (a baseline run's, or stubs) and send nothing.
 */
export class TestRunService {
  constructor(private readonly options: TestRunServiceOptions) {}

  async run(workspaceId: string, workflowId: string, input: unknown, signal: AbortSignal): Promise<Record<string, unknown>> {
    const parsed = testRunRequestSchema.safeParse(input);
    if (!parsed.success) throw validation(describeIssues(parsed.error));
    const request = parsed.data;
    const saved = await this.options.workflows.requireWorkflowRecord(workspaceId, workflowId);
    const definition = request.definition === undefined ? (saved.definition as WorkflowDefinition) : parseDraft(request.definition);
    if ((request.event === undefined) === (request.batch === undefined)) throw validation(['event: give exactly one of "event" and "batch"']);
    if (request.batch !== undefined) {
      if (request.mode !== 'mock') throw validation(['mode: a batch runs in mock mode only']);
      if (request.baselineRunId !== undefined) throw validation(['baselineRunId: a batch compares each event with its own latest run']);
      return this.batch(workspaceId, workflowId, definition, request.batch.lastEvents, request.stubs, signal);
    }
    const event = await this.event(workspaceId, workflowId, request.event ?? { headers: {}, body: null });
    const baseline = request.baselineRunId === undefined ? undefined : await this.baseline(workspaceId, request.baselineRunId);
    const id = newId('test', this.options.clock());
    const result = await this.execute({ workspaceId, workflowId, definition, event, baseline, stubs: request.stubs, mode: request.mode, id, signal });
    return { id, mode: request.mode, workflowId, eventId: event.id, baselineRunId: request.baselineRunId ?? null, ...result };
  }

  /** Mock runs of `definition` over the newest events that have a run, each against that run. */
  private async batch(workspaceId: string, workflowId: string, definition: WorkflowDefinition, count: number, stubs: Record<string, unknown>, signal: AbortSignal): Promise<Record<string, unknown>> {
    const { store } = this.options;
    const latestRun = new Map<string, string>();
    let cursor: string | undefined;
    // Runs newest first; an event's first run seen is its latest. Bounded: at most 10 pages.
    for (let page = 0; page < 10 && latestRun.size < count; page++) {
      const runs = await store.listRuns(workspaceId, workflowId, {}, { limit: 200, cursor });
      for (const run of runs.items) if (!latestRun.has(run.eventId) && latestRun.size < count && (run.status === 'succeeded' || run.status === 'failed')) latestRun.set(run.eventId, run.id);
      if (runs.nextCursor === null) break;
      cursor = runs.nextCursor;
    }
    const items: Record<string, unknown>[] = [];
    const changedSteps = new Map<string, { outputChanged: number; startedFailing: number; notRun: number }>();
    for (const [eventId, runId] of latestRun) {
      const event = await store.getEvent(workspaceId, eventId);
      if (event === null) continue;
      const baseline = await this.baseline(workspaceId, runId);
      const result = await this.execute({ workspaceId, workflowId, definition, event, baseline, stubs, mode: 'mock', id: newId('test', this.options.clock()), signal });
      const outputChanged = result.steps.filter((s) => s.status === 'succeeded' && s.diff?.fields.includes('output')).map((s) => s.id);
      const startedFailing = result.steps.filter((s) => s.status === 'failed' && baseline.get(s.id)?.status !== 'failed').map((s) => s.id);
      const notRun = result.steps.filter((s) => s.status === 'not_run' && baseline.has(s.id)).map((s) => s.id);
      for (const [list, key] of [[outputChanged, 'outputChanged'], [startedFailing, 'startedFailing'], [notRun, 'notRun']] as const) {
        for (const stepId of list) {
          const counts = changedSteps.get(stepId) ?? { outputChanged: 0, startedFailing: 0, notRun: 0 };
          counts[key]++;
          changedSteps.set(stepId, counts);
        }
      }
      items.push({ eventId, baselineRunId: runId, status: result.status, outputChanged, startedFailing, notRun });
    }
    return { mode: 'mock', workflowId, events: items.length, steps: Object.fromEntries(changedSteps), items };
  }

  private execute(options: {
    workspaceId: string; workflowId: string; definition: WorkflowDefinition; event: EventRecord; baseline: ReadonlyMap<string, RecordedStep> | undefined;
    stubs: Record<string, unknown>; mode: 'mock' | 'live'; id: string; signal: AbortSignal;
  }): Promise<{ status: 'succeeded' | 'failed'; steps: TestRunStep[] }> {
    const engine = this.options.engine();
    return executeTestRun({
      mode: options.mode, definition: options.definition, event: options.event, workspaceId: options.workspaceId, workflowId: options.workflowId,
      runId: options.id, kinds: engine.kinds, secrets: engine.secrets, expressions: engine.expressions, baseline: options.baseline, stubs: options.stubs, clock: this.options.clock, signal: options.signal,
    });
  }

  private async event(workspaceId: string, workflowId: string, given: { eventId: string } | { headers: Record<string, string>; body?: unknown }): Promise<EventRecord> {
    if ('eventId' in given) {
      const event = await this.options.store.getEvent(workspaceId, given.eventId);
      if (event === null || event.workflowId !== workflowId) throw new HookflowError('HOOKFLOW_ERR_NOT_FOUND', `Event "${given.eventId}" not found for this workflow`);
      return event;
    }
    const receivedAt = this.options.clock();
    const headers = Object.fromEntries(Object.entries(given.headers).map(([name, value]) => [name.toLowerCase(), value]));
    return {
      id: newId('evt', receivedAt), workspaceId, workflowId, workflowVersion: 0, receivedAt, test: true, headers, body: given.body ?? null,
      meta: { eventId: null, receivedAt: new Date(receivedAt).toISOString(), method: 'POST', query: {}, sourceIp: null, contentType: headers['content-type'] ?? null, bodyBytes: null, test: true },
      idempotencyKey: null,
    };
  }

  private async baseline(workspaceId: string, runId: string): Promise<Map<string, RecordedStep>> {
    const run = await this.options.store.getRun(workspaceId, runId);
    if (run === null) throw new HookflowError('HOOKFLOW_ERR_NOT_FOUND', `Run "${runId}" not found`);
    const steps = await this.options.store.listStepResults(run.id);
    return new Map(steps.map((step) => [step.stepId, { status: step.status, output: step.output }]));
  }
}

function parseDraft(input: unknown): WorkflowDefinition {
  const parsed = workflowDefinitionSchema.safeParse(input);
  if (!parsed.success) throw validation(describeIssues(parsed.error).map((line) => `definition.${line}`));
  return parsed.data;
}

function validation(details: string[]): HookflowError {
  return new HookflowError('HOOKFLOW_ERR_VALIDATION', details.join('; '), { details });
}
