import type { WorkflowDefinition } from '../config/workflow-definition.js';
import { budgetExceeded, utcDay, type LlmBudget } from '../engine/steps/llm/llm-budget.js';
import type { Store } from '../store/store.js';
import { workspaceTokensPerDay } from '../workflows/workspace-llm-budget.js';

/**
 * LLM budgets on the store: the tokens a workflow's LLM steps used per UTC day, counted in the
 * database (so every worker and node counts against the same figure), checked against the
 * workflow's current `llmBudget` and its workspace's budget (all its workflows together); a
 * lowered budget applies at once, also to runs under way.
 * Calls already in flight when the budget runs out still finish: the overshoot is at most what
 * the workflow's concurrent LLM steps use.
 */
export function createLlmBudget(options: { store: Store; clock: () => number }): LlmBudget {
  const { store, clock } = options;
  return {
    async check(workspaceId, workflowId) {
      const day = utcDay(clock());
      const [workflow, workspaceBudget] = await Promise.all([store.getWorkflow(workspaceId, workflowId), workspaceTokensPerDay(store, workspaceId)]);
      const tokensPerDay = (workflow?.definition as WorkflowDefinition | undefined)?.llmBudget?.tokensPerDay;
      if (tokensPerDay !== undefined) {
        const used = await store.getLlmUsage(workspaceId, workflowId, day);
        if (used >= tokensPerDay) throw budgetExceeded(tokensPerDay, used);
      }
      if (workspaceBudget !== null) {
        const used = await store.getWorkspaceLlmUsage(workspaceId, day);
        if (used >= workspaceBudget) throw budgetExceeded(workspaceBudget, used, 'workspace');
      }
    },
    async record(workspaceId, workflowId, tokens) {
      if (tokens > 0) await store.addLlmUsage(workspaceId, workflowId, utcDay(clock()), tokens);
    },
  };
}
