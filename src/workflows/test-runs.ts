import { z } from 'zod';
import { describeIssues, type WorkflowDefinition } from '../config/workflow-definition.js';
import type { StepKinds } from '../engine/run-executor.js';
import type { SecretAccess } from '../engine/secret-scope.js';
import type { ExpressionCompiler } from '../engine/expressions/cel-engine.js';
import { executeTestRun, type RecordedStep, type TestRunStep } from '../engine/test-run.js';
import { HookflowError } from '../errors/catalogue.js';
import { newId } from '../store/ids.js';
import { exceedsDepth } from '../util/value-depth.js';
import type { EventRecord, Page, PageRequest, Store, TestRunRecord } from '../store/store.js';
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
  /** Deepest JSON nesting of an inline event body or a stub (HOOKFLOW_MAX_JSON_DEPTH), as for webhook bodies. */
  maxJsonDepth: number;
  /** Test runs kept per workflow, newest first (HOOKFLOW_TEST_RUNS_KEPT); older ones are deleted as new ones are stored. */
  keep: number;
}

/** A test run as the list shows it (GET …/workflows/:wf/test-runs); the whole answer is read with GET …/test-runs/:testRunId. */
export interface TestRunSummary {
  id: string;
  kind: TestRunRecord['kind'];
  mode: TestRunRecord['mode'];
  workflowId: string;
  status: TestRunRecord['status'];
  eventId: string | null;
  baselineRunId: string | null;
  createdAt: string;
}

/**
 * Test runs (docs/test-runs.md): a saved or draft definition run once against a stored or given
 * event. Each answer is stored as a test run, apart from runs, so it never appears among them or
 * in stats, and can be read back. In mock mode HTTP and LLM steps return recorded outputs (a
 * baseline run's, or stubs) and send nothing.
 */
export class TestRunService {
  /** The last `createdAt` given out (see stamp). */
  private lastStamp = 0;

  constructor(private readonly options: TestRunServiceOptions) {}

  /**
   * A test run's `createdAt`: the clock, but always after the previous one of this process, so
   * the list (newest first) and the per-workflow bound keep the order the test runs were made in
   * even when two come within one millisecond (ids order ties at random).
   */
  private stamp(): number {
    this.lastStamp = Math.max(this.options.clock(), this.lastStamp + 1);
    return this.lastStamp;
  }

  async run(workspaceId: string, workflowId: string, input: unknown, signal: AbortSignal): Promise<Record<string, unknown>> {
    const parsed = testRunRequestSchema.safeParse(input);
    if (!parsed.success) throw validation(describeIssues(parsed.error));
    const request = parsed.data;
    // Before anything walks them, as for a webhook body: deep values overflow template rendering.
    const { maxJsonDepth } = this.options;
    const deep = [['event.body', request.event !== undefined && 'body' in request.event ? request.event.body : null], ...Object.entries(request.stubs).map(([step, stub]) => [`stubs.${step}`, stub])] as const;
    for (const [field, value] of deep) if (exceedsDepth(value, maxJsonDepth)) throw validation([`${field}: nested deeper than ${maxJsonDepth} levels (HOOKFLOW_MAX_JSON_DEPTH)`]);
    const saved = await this.options.workflows.requireWorkflowRecord(workspaceId, workflowId);
    // A draft is checked as a save would check it: its errors are the save's 400, its warnings come with the answer.
    const draft = request.definition === undefined ? undefined : await this.options.workflows.checkDraft(workspaceId, request.definition);
    const definition = draft?.definition ?? (saved.definition as WorkflowDefinition);
    const warnings = draft === undefined || draft.warnings.length === 0 ? {} : { warnings: draft.warnings };
    if ((request.event === undefined) === (request.batch === undefined)) throw validation(['event: give exactly one of "event" and "batch"']);
    if (request.batch !== undefined) {
      if (request.mode !== 'mock') throw validation(['mode: a batch runs in mock mode only']);
      if (request.baselineRunId !== undefined) throw validation(['baselineRunId: a batch compares each event with its own latest run']);
      return this.batch({ workspaceId, workflowId, definition, count: request.batch.lastEvents, stubs: request.stubs, warnings, signal });
    }
    const event = await this.event(workspaceId, workflowId, request.event ?? { headers: {}, body: null });
    const baseline = request.baselineRunId === undefined ? undefined : await this.baseline(workspaceId, request.baselineRunId);
    const createdAt = this.stamp();
    const id = newId('test', createdAt);
    const result = await this.execute({ workspaceId, workflowId, definition, event, baseline, stubs: request.stubs, mode: request.mode, id, signal });
    const answer = {
      id, kind: 'single' as const, mode: request.mode, workflowId, eventId: event.id, baselineRunId: request.baselineRunId ?? null, createdAt: new Date(createdAt).toISOString(), ...warnings, ...result,
    };
    await this.save(workspaceId, createdAt, answer, answer);
    return answer;
  }

  /** A stored test run, as it was answered; 404 when unknown (or pruned). */
  async get(workspaceId: string, id: string): Promise<unknown> {
    const record = await this.options.store.getTestRun(workspaceId, id);
    if (record === null) throw new HookflowError('HOOKFLOW_ERR_NOT_FOUND', `Test run "${id}" not found`);
    return record.result;
  }

  /** A workflow's stored test runs, newest first; 404 for an unknown workflow. */
  async list(workspaceId: string, workflowId: string, page: PageRequest): Promise<Page<TestRunSummary>> {
    await this.options.workflows.requireWorkflowRecord(workspaceId, workflowId);
    const stored = await this.options.store.listTestRuns(workspaceId, workflowId, page);
    return {
      items: stored.items.map((r) => ({
        id: r.id, kind: r.kind, mode: r.mode, workflowId: r.workflowId, status: r.status, eventId: r.eventId, baselineRunId: r.baselineRunId, createdAt: new Date(r.createdAt).toISOString(),
      })),
      nextCursor: stored.nextCursor,
    };
  }

  /** Stores an answer as a test run (what GET …/test-runs/:id gives back). */
  private save(workspaceId: string, createdAt: number, facts: Pick<TestRunRecord, 'id' | 'kind' | 'mode' | 'workflowId' | 'status' | 'eventId' | 'baselineRunId'>, answer: unknown): Promise<void> {
    const { id, kind, mode, workflowId, status, eventId, baselineRunId } = facts;
    return this.options.store.saveTestRun({ id, workspaceId, workflowId, kind, mode, status, eventId, baselineRunId, createdAt, result: answer }, this.options.keep);
  }

  /** Mock runs of `definition` over the newest events that have a run, each against that run. */
  private async batch(options: {
    workspaceId: string; workflowId: string; definition: WorkflowDefinition; count: number; stubs: Record<string, unknown>; warnings: { warnings?: string[] }; signal: AbortSignal;
  }): Promise<Record<string, unknown>> {
    const { workspaceId, workflowId, definition, count, stubs, signal } = options;
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
    const items: ({ eventId: string; baselineRunId: string; status: 'succeeded' | 'failed' } & Record<BatchChange, string[]>)[] = [];
    const changedSteps = new Map<string, Record<BatchChange, number>>();
    for (const [eventId, runId] of latestRun) {
      const event = await store.getEvent(workspaceId, eventId);
      if (event === null) continue;
      const baseline = await this.baseline(workspaceId, runId);
      const result = await this.execute({ workspaceId, workflowId, definition, event, baseline, stubs, mode: 'mock', id: newId('test', this.options.clock()), signal });
      const changes = changesAgainst(result.steps, baseline);
      for (const change of BATCH_CHANGES) {
        for (const stepId of changes[change]) {
          const counts = changedSteps.get(stepId) ?? { outputChanged: 0, startedFailing: 0, skipped: 0, notRun: 0 };
          counts[change]++;
          changedSteps.set(stepId, counts);
        }
      }
      items.push({ eventId, baselineRunId: runId, status: result.status, ...changes });
    }
    const createdAt = this.stamp();
    const answer = {
      id: newId('test', createdAt), kind: 'batch' as const, mode: 'mock' as const, workflowId, status: items.some((item) => item.status === 'failed') ? 'failed' as const : 'succeeded' as const,
      createdAt: new Date(createdAt).toISOString(), ...options.warnings, events: items.length, steps: Object.fromEntries(changedSteps), items,
    };
    await this.save(workspaceId, createdAt, { ...answer, eventId: null, baselineRunId: null }, answer);
    return answer;
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

/** How a batch says a step changed against an event's latest run (docs/test-runs.md, the batch form). */
const BATCH_CHANGES = ['outputChanged', 'startedFailing', 'skipped', 'notRun'] as const;
type BatchChange = (typeof BATCH_CHANGES)[number];

/**
 * The steps a change affects on one event: succeeded with another output, failed where the
 * baseline did not, skipped (`if` false) where the baseline ran the step, not run (after a
 * failure) where the baseline ran it. A step that behaves as in the baseline is in none.
 */
function changesAgainst(steps: readonly TestRunStep[], baseline: ReadonlyMap<string, RecordedStep>): Record<BatchChange, string[]> {
  const ids = (affected: (step: TestRunStep, before: RecordedStep | undefined) => boolean): string[] => steps.filter((step) => affected(step, baseline.get(step.id))).map((step) => step.id);
  return {
    outputChanged: ids((step) => step.status === 'succeeded' && step.diff?.fields.includes('output') === true),
    startedFailing: ids((step, before) => step.status === 'failed' && before?.status !== 'failed'),
    skipped: ids((step, before) => step.status === 'skipped' && before !== undefined && before.status !== 'skipped'),
    notRun: ids((step, before) => step.status === 'not_run' && before !== undefined),
  };
}

function validation(details: string[]): HookflowError {
  return new HookflowError('HOOKFLOW_ERR_VALIDATION', details.join('; '), { details });
}
