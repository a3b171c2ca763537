import type { TestApp } from './app.js';
import { eventually } from './loopback.js';

/** A finished run as `GET /api/workspaces/:ws/runs/:id` shows it. */
export interface FinishedRun {
  status: 'succeeded' | 'failed';
  error: string | null;
  /** Each step's error is `CODE: message`. */
  steps: { id: string; status: string; output: any; error: string | null }[];
}

/** Polls the run until it succeeded or failed (generous deadline: the machine may be loaded). */
export function waitForRun(app: TestApp, workspaceId: string, runId: string): Promise<FinishedRun> {
  return eventually(async () => {
    const run = await app.api('GET', `/api/workspaces/${workspaceId}/runs/${runId}`);
    return run.body?.status === 'succeeded' || run.body?.status === 'failed' ? (run.body as FinishedRun) : undefined;
  }, 30_000);
}
