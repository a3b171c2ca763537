import type { EventRecord, JobRecord, RejectedCallRecord, RunRecord, StepResultRecord } from '../store/store.js';

const iso = (time: number | null): string | null => (time === null ? null : new Date(time).toISOString());

/** A run as `GET /api/workspaces/:ws/runs/:runId` shows it. */
export function runDetailView(run: RunRecord, memory: Record<string, unknown>, steps: readonly StepResultRecord[]): Record<string, unknown> {
  return {
    ...runSummaryView(run),
    memory,
    steps: steps.map((step) => ({
      id: step.stepId,
      type: step.type,
      status: step.status,
      attempt: step.attempt,
      startedAt: iso(step.startedAt),
      finishedAt: iso(step.finishedAt),
      durationMs: step.finishedAt - step.startedAt,
      output: step.output,
      error: step.error,
      logs: step.logs,
      ...(step.usage === null ? {} : { usage: step.usage }),
      // Every attempt of the step in this run, oldest first: retries and resumes keep the earlier ones.
      attempts: [...(step.earlierAttempts ?? []), step].map((attempt) => ({
        attempt: attempt.attempt,
        status: attempt.status,
        startedAt: iso(attempt.startedAt),
        finishedAt: iso(attempt.finishedAt),
        error: attempt.error,
      })),
      // The `if` as evaluated (a skipped step's value is false); a failure the run continued past.
      ...(step.condition == null ? {} : { condition: step.condition }),
      ...(step.continued === true ? { continuedOnError: true } : {}),
    })),
  };
}

/** A run in lists. */
export function runSummaryView(run: RunRecord): Record<string, unknown> {
  return {
    id: run.id,
    workspaceId: run.workspaceId,
    workflowId: run.workflowId,
    workflowVersion: run.workflowVersion,
    eventId: run.eventId,
    status: run.status,
    attempts: run.attempts,
    maxAttempts: run.maxAttempts,
    createdAt: iso(run.createdAt),
    startedAt: iso(run.startedAt),
    finishedAt: iso(run.finishedAt),
    nextAttemptAt: run.status === 'queued' && run.attempts > 0 ? iso(run.availableAt) : null,
    error: run.lastError,
    replayOf: run.replayOf,
    ...(run.concurrencyKey === undefined ? {} : { concurrencyKey: run.concurrencyKey }),
  };
}

/** A stored request as the events endpoint shows it. */
export function eventView(event: EventRecord): Record<string, unknown> {
  return {
    id: event.id,
    workflowId: event.workflowId,
    workflowVersion: event.workflowVersion,
    receivedAt: iso(event.receivedAt),
    test: event.test,
    filtered: event.filtered === true,
    headers: event.headers,
    body: event.body,
    webhook: event.meta,
  };
}

/** A refused webhook call (metadata only) as the events endpoint and the live stream show it. */
export function rejectedCallView(r: RejectedCallRecord): Record<string, unknown> {
  return { id: r.id, receivedAt: iso(r.receivedAt), status: r.status, reason: r.reason, sourceIp: r.sourceIp, bodyBytes: r.bodyBytes, userAgent: r.userAgent };
}

/** A bulk replay or resume job: its progress, without the list of its runs. */
export function jobView(job: JobRecord): Record<string, unknown> {
  return {
    id: job.id,
    workspaceId: job.workspaceId,
    workflowId: job.workflowId,
    kind: job.kind,
    status: job.status,
    options: job.options,
    total: job.runIds.length,
    done: job.done,
    failed: job.failed,
    lastError: job.lastError,
    createdAt: iso(job.createdAt),
    updatedAt: iso(job.updatedAt),
    finishedAt: iso(job.finishedAt),
  };
}
