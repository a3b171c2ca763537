import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RunRecord, Store } from '../store/store.js';
import { BulkJobs } from './bulk-jobs.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('BulkJobs.stop', () => {
  it('does not wait out the pace when it comes while a run is being resumed: the job stops and says so', async () => {
    // Fake timers: the pause before the next run (10 s at 0.1 per second) never ends by itself,
    // so a stop that waited for it would never resolve.
    vi.useFakeTimers();
    let finishResume: (run: RunRecord) => void = () => undefined;
    let resumeCalled: () => void = () => undefined;
    const resumeStarted = new Promise<void>((resolve) => (resumeCalled = resolve));
    const progress: { status: string; lastError: string | null }[] = [];
    const store = {
      selectRuns: async () => ['run_1', 'run_2'],
      saveJob: async () => undefined,
      resumeRun: () => {
        resumeCalled();
        return new Promise<RunRecord>((resolve) => (finishResume = resolve));
      },
      getWorkflow: async () => ({}),
      updateJobProgress: async (_id: string, update: { status: string; lastError: string | null }) => {
        progress.push(update);
        return true;
      },
    } as unknown as Store;
    const jobs = new BulkJobs({ store, logger: pino({ level: 'silent' }), clock: () => 1_000_000, onRunQueued: () => undefined });
    await jobs.start({ workspaceId: 'ws', workflowId: 'wf', kind: 'resume', status: 'failed', from: 0, to: 1, limit: 10, ratePerSecond: 0.1, version: 'original' });
    await resumeStarted;
    const stopped = jobs.stop();
    finishResume({} as RunRecord);
    await stopped;
    expect(progress.at(-1)).toMatchObject({ status: 'cancelled' });
    expect(progress.at(-1)?.lastError).toMatch(/stopped with its node after 1 of 2 runs/);
  });
});
