import { describe, expect, it } from 'vitest';
import type { WorkflowDefinition } from '../config/workflow-definition.js';
import { HookflowError } from '../errors/catalogue.js';
import type { ClaimedRun, StepResultRecord } from '../store/store.js';
import { ExpressionCompiler } from './expressions/cel-engine.js';
import { createRunExecutor, type StepKinds } from './run-executor.js';
import type { StepKind } from './step.js';

/** The executor's handling of `if` and `continueOnError`, with step kinds that record their calls. */
function harness(definition: Partial<WorkflowDefinition>, finishedSteps: StepResultRecord[] = []) {
  const ran: string[] = [];
  // A script "step" whose code is a tiny instruction: "fail", or a value to return.
  const script: StepKind = {
    type: 'script',
    async run(step) {
      ran.push(step.id);
      if (step.type === 'script' && step.code === 'fail') throw new HookflowError('HOOKFLOW_ERR_STEP_FAILED', `step ${step.id} broke`);
      return { output: step.type === 'script' ? step.code : null };
    },
  };
  const steps = { http: script, script, llm: script } as unknown as StepKinds;
  const execute = createRunExecutor({ steps, clock: () => 1000, expressions: new ExpressionCompiler() });
  const claimed = {
    run: { id: 'run_1', workspaceId: 'ws', workflowId: 'wf' },
    event: { headers: { 'x-github-event': 'push' }, body: { severity: 'critical' }, meta: { method: 'POST' } },
    workflow: { definition: { trigger: { type: 'webhook', headerMemory: 'h', bodyMemory: 'b' }, ...definition } },
    finishedSteps,
  } as unknown as ClaimedRun;
  const checkpoints: StepResultRecord[] = [];
  const run = () => execute(claimed, { ref: { runId: 'run_1', attempt: 2, workerId: 'w' }, signal: new AbortController().signal, checkpoint: async (step) => (checkpoints.push(step), true) });
  return { ran, checkpoints, run };
}

const step = (id: string, code: string, extra: Record<string, unknown> = {}) => ({ id, type: 'script' as const, code, ...extra });

describe('run executor: conditions and failure policy', () => {
  it('skips a step whose if is false, records the value and writes no output', async () => {
    const { ran, checkpoints, run } = harness({
      steps: [step('a', 'A', { if: 'h["x-github-event"] == "pull_request"', output: 'x' }), step('b', 'B', { if: 'b.severity == "critical"', output: 'y' })],
    });
    const last = await run();
    expect(ran).toEqual(['b']);
    expect(checkpoints).toEqual([expect.objectContaining({ stepId: 'a', status: 'skipped', output: null, memoryWrites: {}, condition: { expression: 'h["x-github-event"] == "pull_request"', value: false } })]);
    expect(last).toMatchObject({ stepId: 'b', status: 'succeeded', memoryWrites: { y: 'B' }, condition: { value: true } });
  });

  it('returns a skipped last step for the completion write instead of checkpointing it', async () => {
    const { checkpoints, run } = harness({ steps: [step('a', 'A'), step('b', 'B', { if: 'false' })] });
    expect(await run()).toMatchObject({ stepId: 'b', status: 'skipped' });
    expect(checkpoints.map((s) => s.stepId)).toEqual(['a']);
  });

  it('continues past a failing continueOnError step, keeping its error, and fails the run on any other', async () => {
    const tolerant = harness({ steps: [step('notify', 'fail', { continueOnError: true, output: 'n' }), step('next', 'N')] });
    expect(await tolerant.run()).toMatchObject({ stepId: 'next', status: 'succeeded' });
    expect(tolerant.checkpoints[0]).toMatchObject({ stepId: 'notify', status: 'failed', continued: true, memoryWrites: {}, error: 'HOOKFLOW_ERR_STEP_FAILED: step notify broke' });
    const strict = harness({ steps: [step('notify', 'fail'), step('next', 'N')] });
    await expect(strict.run()).rejects.toThrow('step notify broke');
    expect(strict.ran).toEqual(['notify']);
    expect(strict.checkpoints[0]).not.toHaveProperty('continued');
  });

  it('a resumed run does not rerun skipped steps or failures it continued past', async () => {
    const earlier = (stepId: string, status: 'skipped' | 'failed', extra: Partial<StepResultRecord> = {}): StepResultRecord => ({
      runId: 'run_1', stepId, stepIndex: 0, type: 'script', attempt: 1, status, startedAt: 1, finishedAt: 2, output: null, memoryWrites: {}, error: null, logs: [], usage: null, ...extra,
    });
    const { ran, run } = harness(
      { steps: [step('a', 'A', { if: 'false' }), step('b', 'fail', { continueOnError: true }), step('c', 'C')] },
      [earlier('a', 'skipped'), earlier('b', 'failed', { continued: true, error: 'x' })],
    );
    expect(await run()).toMatchObject({ stepId: 'c', status: 'succeeded' });
    expect(ran).toEqual(['c']);
  });

  it('an if that is not a boolean fails the step', async () => {
    const { ran, checkpoints, run } = harness({ steps: [step('a', 'A', { if: 'b.severity' })] });
    await expect(run()).rejects.toThrow('The condition ("if") must be a boolean, got string');
    expect(ran).toEqual([]);
    expect(checkpoints[0]).toMatchObject({ stepId: 'a', status: 'failed' });
  });
});
