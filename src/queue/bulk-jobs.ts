import type { Logger } from 'pino';
import { isHookflowError, toError } from '../errors/catalogue.js';
import { newId } from '../store/ids.js';
import type { JobRecord, RunStatus, Store } from '../store/store.js';

/** What a bulk replay or resume is asked to do. */
export interface BulkRequest {
  workspaceId: string;
  workflowId: string;
  kind: JobRecord['kind'];
  /** Runs with this status (default `failed`), created in [from, to], oldest first, at most `limit`. */
  status: RunStatus;
  from: number;
  to: number;
  limit: number;
  /** Runs replayed or resumed per second at most: a downstream that just came back is not stampeded. */
  ratePerSecond: number;
  /** Resume only: on the version each run started with, or the workflow's latest. */
  version: 'original' | 'latest';
}

export interface BulkJobsOptions {
  store: Store;
  logger: Logger;
  clock: () => number;
  /** Wakes local workers after runs were queued. */
  onRunQueued: () => void;
}

/**
 * Bulk replay and resume as background jobs, paced, with their progress in the store so the API
 * shows it on any node. A job works through the runs chosen when it was created; a run that can
 * no longer be replayed or resumed (it was resumed meanwhile, its workflow was deleted) is
 * counted as failed and skipped. Cancelling marks the job in the store; the runner sees it at
 * its next progress write and stops. A job runs in the process that created it: stopping that
 * process cancels the job (saying so), and a new job picks up what is left (a resumed run is no
 * longer failed; a bulk replay skips runs that were replayed already).
 */
export class BulkJobs {
  private readonly running = new Map<string, { stop: () => void; done: Promise<void> }>();

  constructor(private readonly options: BulkJobsOptions) {}

  /** Chooses the runs, stores the job, and starts it in the background. */
  async start(request: BulkRequest): Promise<JobRecord> {
    const { store, clock } = this.options;
    const now = clock();
    const runIds = await store.selectRuns(request.workspaceId, request.workflowId, {
      status: request.status, from: request.from, to: request.to, notReplayed: request.kind === 'replay', limit: request.limit,
    });
    const job: JobRecord = {
      id: newId('job', now),
      workspaceId: request.workspaceId,
      workflowId: request.workflowId,
      kind: request.kind,
      status: runIds.length === 0 ? 'succeeded' : 'running',
      options: { status: request.status, from: new Date(request.from).toISOString(), to: new Date(request.to).toISOString(), limit: request.limit, ratePerSecond: request.ratePerSecond, ...(request.kind === 'resume' ? { version: request.version } : {}) },
      runIds,
      done: 0,
      failed: 0,
      lastError: null,
      createdAt: now,
      updatedAt: now,
      finishedAt: runIds.length === 0 ? now : null,
    };
    await store.saveJob(job);
    if (runIds.length > 0) this.run(job, request);
    return job;
  }

  /** Stops every job of this process, recording why (graceful shutdown). */
  async stop(): Promise<void> {
    const jobs = [...this.running.values()];
    for (const job of jobs) job.stop();
    await Promise.all(jobs.map((job) => job.done));
  }

  private run(job: JobRecord, request: BulkRequest): void {
    const { store, clock, logger } = this.options;
    let stopped = false;
    let wake: (() => void) | null = null;
    const sleep = (ms: number) => new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    const progress = { done: job.done, failed: job.failed, lastError: null as string | null };
    const work = async (): Promise<void> => {
      const started = clock();
      for (const runId of job.runIds) {
        // Paced from the job's start: run i goes at start + i / rate, never faster.
        const due = started + (progress.done * 1000) / request.ratePerSecond;
        // A stop that came while the last run was being queued found no pause to cut short.
        if (due > clock() && !stopped) await sleep(due - clock());
        if (stopped) {
          const why = `stopped with its node after ${progress.done} of ${job.runIds.length} runs; start a new job for the rest`;
          await store.updateJobProgress(job.id, { ...progress, lastError: why, status: 'cancelled', now: clock() });
          return;
        }
        try {
          // A resume on the original version does not need the workflow; a job started before
          // its workflow was deleted must still not bring the workflow's runs back to life.
          const gone = request.kind === 'resume' && (await store.getWorkflow(job.workspaceId, job.workflowId)) === null;
          const queued = gone ? null : request.kind === 'replay'
            ? await store.replayRun(job.workspaceId, runId, newId('run', clock()), clock())
            : await store.resumeRun(job.workspaceId, runId, { latestVersion: request.version === 'latest', now: clock() });
          if (queued === null) {
            progress.failed++;
            progress.lastError = `${runId}: not found, or its workflow was deleted`;
          } else {
            this.options.onRunQueued();
          }
        } catch (error) {
          if (!isHookflowError(error, 'HOOKFLOW_ERR_CONFLICT')) throw error;
          progress.failed++;
          progress.lastError = `${runId}: ${error.message}`;
        }
        progress.done++;
        const finished = progress.done === job.runIds.length;
        const still = await store.updateJobProgress(job.id, { ...progress, status: finished ? 'succeeded' : 'running', now: clock() });
        if (!still) return; // cancelled through the API
      }
    };
    const done = work()
      .catch(async (error: unknown) => {
        logger.warn({ err: error, jobId: job.id }, 'bulk job stopped by a storage error');
        await store.updateJobProgress(job.id, { ...progress, lastError: toError(error).message, status: 'cancelled', now: clock() }).catch(() => undefined);
      })
      .finally(() => this.running.delete(job.id));
    this.running.set(job.id, {
      stop: () => {
        stopped = true;
        (wake as (() => void) | null)?.();
      },
      done,
    });
  }
}
