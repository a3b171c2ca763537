import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { RESOURCE_ID, type WorkflowDefinition } from '../config/workflow-definition.js';
import { HookflowError } from '../errors/catalogue.js';
import { newId } from '../store/ids.js';
import { RUN_STATUSES, type Store } from '../store/store.js';
import { initialMemory, memoryAfter } from '../engine/memory.js';
import type { BulkJobs } from '../queue/bulk-jobs.js';
import { eventView, jobView, rejectedCallView, runDetailView, runSummaryView } from '../workflows/run-view.js';
import type { WorkflowService } from '../workflows/workflow-service.js';
import type { TestRunService } from '../workflows/test-runs.js';
import type { WorkspaceSecretService } from '../workflows/workspace-secrets.js';
import { stringifyExactJson } from '../util/exact-json.js';
import { principalOf, requireRole } from './access-control.js';
import { installJsonBodyParsers } from './json-body.js';
import { pageOf, pageQuery, parseQuery } from './list-query.js';
import { secretRoutes } from './secret-routes.js';
import { testRunRoutes } from './test-run-routes.js';
import { statsRoutes } from './stats-routes.js';

export interface ManagementRoutesOptions {
  store: Store;
  workflows: WorkflowService;
  workspaceSecrets: WorkspaceSecretService;
  testRuns: TestRunService;
  clock: () => number;
  /** Wakes local workers when a replay queues a run. */
  onRunQueued: () => void;
  /** Bulk replay and resume. */
  bulkJobs: BulkJobs;
  /** Default pace of bulk jobs, runs per second. */
  bulkRatePerSecond: number;
}

export { pageQuery, parseQuery };
export const runsQuery = pageQuery.extend({ status: z.enum(RUN_STATUSES as [string, ...string[]]).optional() });
/** `POST …/runs/:id/resume`: on the version the run started with (default), or the workflow's latest. */
export const resumeBody = z.object({ version: z.enum(['original', 'latest']).default('original') }).strict();
/** `POST …/workflows/:wf/runs/replay|resume`: which runs, how fast. */
export const bulkBody = z
  .object({
    status: z.enum(['failed', 'succeeded']).default('failed'),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    limit: z.number().int().min(1).max(10_000).default(1000),
    ratePerSecond: z.number().min(0.1).max(1000).optional(),
    version: z.enum(['original', 'latest']).default('original'),
  })
  .strict();
export const eventsQuery = pageQuery.extend({
  test: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  filtered: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  rejected: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
});
export const webhookUrlQuery = z.object({ reveal: z.enum(['true', 'false']).transform((v) => v === 'true').default(false) });

type WsParams = { ws: string };
type WfParams = { ws: string; wf: string };
type RunParams = { ws: string; runId: string };

/** The management API (docs/api.md). Who may call each route is declared in access-control.ts. */
export async function managementRoutes(app: FastifyInstance, options: ManagementRoutesOptions): Promise<void> {
  const { store, workflows } = options;
  installJsonBodyParsers(app);
  // Event bodies, memory and outputs may hold numbers beyond 2^53: answer with their exact digits.
  app.setReplySerializer((payload) => stringifyExactJson(payload));
  // Every id in a path (workspace, workflow, run) has the RESOURCE_ID form; anything else names
  // nothing, and never reaches the database (PostgreSQL refuses a NUL with an error). A secret's
  // `:name` follows its own rule (SECRET_NAME, which allows a leading `_`), checked by its routes
  // before the store is reached.
  app.addHook('preValidation', async (request) => {
    for (const [param, id] of Object.entries(request.params as Record<string, string>)) {
      if (param === 'name') continue;
      if (!RESOURCE_ID.test(id)) throw new HookflowError('HOOKFLOW_ERR_NOT_FOUND', 'No such id');
    }
  });

  app.post('/api/workspaces', async (request, reply) => reply.code(201).send(serializeWorkspace(await workflows.createWorkspace(request.body))));
  app.get('/api/workspaces', async (request) => {
    const query = parseQuery(pageQuery, request.query);
    // A token for one workspace sees that one only.
    const scope = principalOf(request).workspaceId;
    if (scope !== null) return { items: [serializeWorkspace(await workflows.requireWorkspace(scope))], nextCursor: null };
    const page = await workflows.listWorkspaces(pageOf(query));
    return { items: page.items.map(serializeWorkspace), nextCursor: page.nextCursor };
  });
  app.get<{ Params: WsParams }>('/api/workspaces/:ws', async (request) => serializeWorkspace(await workflows.requireWorkspace(request.params.ws)));

  secretRoutes(app, options.workspaceSecrets);
  testRunRoutes(app, options.testRuns);

  app.post<{ Params: WsParams }>('/api/workspaces/:ws/workflows', async (request, reply) =>
    reply.code(201).send(await workflows.createWorkflow(request.params.ws, request.body)),
  );
  app.get<{ Params: WsParams }>('/api/workspaces/:ws/workflows', async (request) =>
    workflows.listWorkflows(request.params.ws, pageOf(parseQuery(pageQuery, request.query))),
  );
  app.get<{ Params: WfParams }>('/api/workspaces/:ws/workflows/:wf', async (request) => workflows.getWorkflow(request.params.ws, request.params.wf));
  app.put<{ Params: WfParams }>('/api/workspaces/:ws/workflows/:wf', async (request) =>
    workflows.updateWorkflow(request.params.ws, request.params.wf, request.body),
  );
  app.patch<{ Params: WfParams }>('/api/workspaces/:ws/workflows/:wf', async (request) =>
    workflows.patchWorkflow(request.params.ws, request.params.wf, request.body),
  );
  app.get<{ Params: WfParams }>('/api/workspaces/:ws/workflows/:wf/webhook-url', async (request) => {
    const { reveal } = parseQuery(webhookUrlQuery, request.query);
    // Revealing the key is an editor's act, and audited (access-control.ts writes the entry).
    if (reveal) {
      requireRole(request, 'editor');
      request.auditNote = { action: 'workflow.key.reveal' };
    }
    return workflows.webhookUrls(request.params.ws, request.params.wf, reveal);
  });
  app.delete<{ Params: WfParams }>('/api/workspaces/:ws/workflows/:wf', async (request, reply) => {
    await workflows.deleteWorkflow(request.params.ws, request.params.wf);
    return reply.code(204).send();
  });
  app.post<{ Params: WfParams }>('/api/workspaces/:ws/workflows/:wf/keys/rotate', async (request) =>
    workflows.rotateKeys(request.params.ws, request.params.wf, request.body),
  );

  // The lists below answer 404 for an unknown workflow, as its other routes do, not an empty list.
  app.get<{ Params: WfParams }>('/api/workspaces/:ws/workflows/:wf/runs', async (request) => {
    const query = parseQuery(runsQuery, request.query);
    await workflows.requireWorkflowRecord(request.params.ws, request.params.wf);
    const page = await store.listRuns(request.params.ws, request.params.wf, { status: query.status as (typeof RUN_STATUSES)[number] | undefined }, pageOf(query));
    return { items: page.items.map(runSummaryView), nextCursor: page.nextCursor };
  });

  app.get<{ Params: RunParams }>('/api/workspaces/:ws/runs/:runId', async (request) => {
    const run = await store.getRun(request.params.ws, request.params.runId);
    if (run === null) throw new HookflowError('HOOKFLOW_ERR_NOT_FOUND', `Run "${request.params.runId}" not found`);
    const [event, workflow, steps] = await Promise.all([
      store.getEvent(run.workspaceId, run.eventId),
      store.getWorkflow(run.workspaceId, run.workflowId, run.workflowVersion),
      store.listStepResults(run.id),
    ]);
    const initial = event === null || workflow === null ? {} : initialMemory(workflow.definition as WorkflowDefinition, event);
    return runDetailView(run, memoryAfter(initial, steps), steps);
  });

  app.post<{ Params: RunParams }>('/api/workspaces/:ws/runs/:runId/replay', async (request, reply) => {
    const now = options.clock();
    const run = await store.replayRun(request.params.ws, request.params.runId, newId('run', now), now);
    if (run === null) throw new HookflowError('HOOKFLOW_ERR_NOT_FOUND', `Run "${request.params.runId}" not found, or its workflow was deleted`);
    options.onRunQueued();
    return reply.code(201).send(runSummaryView(run));
  });

  app.post<{ Params: RunParams }>('/api/workspaces/:ws/runs/:runId/resume', async (request) => {
    const body = parseQuery(resumeBody, request.body ?? {});
    const run = await store.resumeRun(request.params.ws, request.params.runId, { latestVersion: body.version === 'latest', now: options.clock() });
    if (run === null) throw new HookflowError('HOOKFLOW_ERR_NOT_FOUND', `Run "${request.params.runId}" not found${body.version === 'latest' ? ', or its workflow was deleted' : ''}`);
    options.onRunQueued();
    return runSummaryView(run);
  });

  for (const kind of ['replay', 'resume'] as const) {
    app.post<{ Params: WfParams }>(`/api/workspaces/:ws/workflows/:wf/runs/${kind}`, async (request, reply) => {
      const body = parseQuery(bulkBody, request.body ?? {});
      if (kind === 'replay' && body.status !== 'failed') throw new HookflowError('HOOKFLOW_ERR_VALIDATION', 'Invalid request', { details: ['status: a bulk replay takes failed runs'] });
      if (kind === 'resume' && body.status !== 'failed') throw new HookflowError('HOOKFLOW_ERR_VALIDATION', 'Invalid request', { details: ['status: only failed runs can be resumed'] });
      await workflows.requireWorkflowRecord(request.params.ws, request.params.wf);
      const job = await options.bulkJobs.start({
        workspaceId: request.params.ws,
        workflowId: request.params.wf,
        kind,
        status: body.status,
        from: body.from === undefined ? 0 : Date.parse(body.from),
        to: body.to === undefined ? options.clock() : Date.parse(body.to),
        limit: body.limit,
        ratePerSecond: body.ratePerSecond ?? options.bulkRatePerSecond,
        version: body.version,
      });
      return reply.code(202).send(jobView(job));
    });
  }

  app.get<{ Params: WsParams }>('/api/workspaces/:ws/jobs', async (request) => {
    const query = parseQuery(pageQuery, request.query);
    await workflows.requireWorkspace(request.params.ws);
    const page = await store.listJobs(request.params.ws, pageOf(query));
    return { items: page.items.map(jobView), nextCursor: page.nextCursor };
  });

  app.get<{ Params: WsParams & { jobId: string } }>('/api/workspaces/:ws/jobs/:jobId', async (request) => {
    const job = await store.getJob(request.params.ws, request.params.jobId);
    if (job === null) throw new HookflowError('HOOKFLOW_ERR_NOT_FOUND', `Job "${request.params.jobId}" not found`);
    return jobView(job);
  });

  app.post<{ Params: WsParams & { jobId: string } }>('/api/workspaces/:ws/jobs/:jobId/cancel', async (request) => {
    const job = await store.getJob(request.params.ws, request.params.jobId);
    if (job === null) throw new HookflowError('HOOKFLOW_ERR_NOT_FOUND', `Job "${request.params.jobId}" not found`);
    if (!(await store.cancelJob(request.params.ws, job.id, options.clock()))) throw new HookflowError('HOOKFLOW_ERR_CONFLICT', `Job "${job.id}" is ${job.status}`);
    return jobView((await store.getJob(request.params.ws, job.id)) ?? job);
  });

  app.get<{ Params: WfParams }>('/api/workspaces/:ws/workflows/:wf/events', async (request) => {
    const query = parseQuery(eventsQuery, request.query);
    await workflows.requireWorkflowRecord(request.params.ws, request.params.wf);
    if (query.rejected === true) {
      const page = await store.listRejectedCalls(request.params.ws, request.params.wf, pageOf(query));
      return { items: page.items.map(rejectedCallView), nextCursor: page.nextCursor };
    }
    const page = await store.listEvents(request.params.ws, request.params.wf, { test: query.test, filtered: query.filtered }, pageOf(query));
    return { items: page.items.map(eventView), nextCursor: page.nextCursor };
  });

  // Stats have their own file; registered here so they sit under this scope's auth and id checks.
  await app.register(statsRoutes, { store, workflows, clock: options.clock });
}

function serializeWorkspace(workspace: { id: string; name: string; createdAt: number }): Record<string, unknown> {
  return { id: workspace.id, name: workspace.name, createdAt: new Date(workspace.createdAt).toISOString() };
}
