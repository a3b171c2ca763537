import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { WorkflowDefinition } from '../config/workflow-definition.js';
import { utcDay } from '../engine/steps/llm/llm-budget.js';
import { HookflowError } from '../errors/catalogue.js';
import type { Store } from '../store/store.js';
import { STATS_MAX_RUNS, statsSince, statsView } from '../workflows/stats-view.js';
import type { WorkflowService } from '../workflows/workflow-service.js';
import { setWorkspaceTokensPerDay, workspaceTokensPerDay } from '../workflows/workspace-llm-budget.js';
import { parseQuery } from './list-query.js';

export interface StatsRoutesOptions {
  store: Store;
  workflows: WorkflowService;
  clock: () => number;
}

/** `PUT …/llm-budget`: the workspace's tokens per UTC day, null for none (also in the OpenAPI document). */
export const workspaceBudgetBody = z.object({ tokensPerDay: z.number().int().min(1).max(1_000_000_000_000).nullable() }).strict();

/** Today's LLM tokens against a budget, as the stats answers show them. */
function llmFigures(tokensToday: number, tokensPerDay: number | null) {
  return { tokensToday, tokensPerDay, remainingToday: tokensPerDay === null ? null : Math.max(0, tokensPerDay - tokensToday) };
}

/** The stats routes' query (also in the OpenAPI document). */
export const statsQuery = z.object({ windowSeconds: z.coerce.number().int().min(60).max(30 * 86_400).default(3600) });

function parseWindow(query: unknown): number {
  const parsed = statsQuery.safeParse(query);
  if (!parsed.success) {
    throw new HookflowError('HOOKFLOW_ERR_VALIDATION', 'Invalid query', { details: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) });
  }
  return parsed.data.windowSeconds;
}

/**
 * `GET /api/workspaces/:ws/stats` and `…/workflows/:wf/stats`: webhooks by outcome, error rate,
 * response-time percentiles, runs by status and a chart series, from stored data only (any node
 * answers the same). Registered inside the management API's scope, under its auth.
 */
export async function statsRoutes(app: FastifyInstance, options: StatsRoutesOptions): Promise<void> {
  const { store, workflows } = options;

  app.get<{ Params: { ws: string } }>('/api/workspaces/:ws/stats', async (request) => {
    const windowSeconds = parseWindow(request.query);
    await workflows.requireWorkspace(request.params.ws);
    const window = { windowSeconds, now: options.clock() };
    const [rows, runs, tokensToday, tokensPerDay] = await Promise.all([
      store.listWebhookStats(request.params.ws, null, statsSince(window)),
      store.listRunsSince(request.params.ws, null, window.now - windowSeconds * 1000, STATS_MAX_RUNS),
      store.getWorkspaceLlmUsage(request.params.ws, utcDay(window.now)),
      workspaceTokensPerDay(store, request.params.ws),
    ]);
    return { workspaceId: request.params.ws, ...statsView(window, rows, runs, { byWorkflow: true }), llm: llmFigures(tokensToday, tokensPerDay) };
  });

  app.put<{ Params: { ws: string } }>('/api/workspaces/:ws/llm-budget', async (request) => {
    const body = parseQuery(workspaceBudgetBody, request.body ?? {});
    await workflows.requireWorkspace(request.params.ws);
    await setWorkspaceTokensPerDay(store, request.params.ws, body.tokensPerDay);
    const tokensToday = await store.getWorkspaceLlmUsage(request.params.ws, utcDay(options.clock()));
    return { workspaceId: request.params.ws, ...llmFigures(tokensToday, body.tokensPerDay) };
  });

  app.get<{ Params: { ws: string; wf: string } }>('/api/workspaces/:ws/workflows/:wf/stats', async (request) => {
    const windowSeconds = parseWindow(request.query);
    const workflow = await workflows.requireWorkflowRecord(request.params.ws, request.params.wf);
    const window = { windowSeconds, now: options.clock() };
    // Nothing from before the workflow was created: counts another node saved late for a deleted
    // workflow of the same id are not this one's (docs/runs.md "Deleting a workflow").
    const since = Math.max(window.now - windowSeconds * 1000, workflow.createdAt);
    const [rows, runs, tokensToday, steps] = await Promise.all([
      store.listWebhookStats(request.params.ws, request.params.wf, Math.max(statsSince(window), workflow.createdAt - (workflow.createdAt % 60_000))),
      store.listRunsSince(request.params.ws, request.params.wf, since, STATS_MAX_RUNS),
      store.getLlmUsage(request.params.ws, request.params.wf, utcDay(window.now)),
      // Steps by status: skipped by their `if`, failed (continued past or not), succeeded.
      store.countStepsSince(request.params.ws, request.params.wf, since),
    ]);
    // The workflow's LLM budget for today (llmBudget.tokensPerDay), next to its traffic.
    const tokensPerDay = (workflow.definition as WorkflowDefinition).llmBudget?.tokensPerDay ?? null;
    const llm = llmFigures(tokensToday, tokensPerDay);
    return { workspaceId: request.params.ws, workflowId: request.params.wf, ...statsView(window, rows, runs, { byWorkflow: false }), steps, llm };
  });
}
