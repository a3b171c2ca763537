import type { WorkflowDefinition } from '../config/workflow-definition.js';
import { budgetExceeded, utcDay, type LlmBudget } from '../engine/steps/llm/llm-budget.js';
import type { Store } from '../store/store.js';

/**
 * LLM budgets on the store: the tokens a workflow's LLM steps used per UTC day, counted in the
 * database (so every worker and node counts against the same figure), checked against the
 * workflow's current `llmBudget` (a lowered budget applies at once, also to runs under way).
 * Calls already in flight when the budget runs out still finish: the overshoot is at most what
 * the workflow's concurrent LLM steps use.
 */
export function createLlmBudget(options: { store: Store; clock: () => number }): LlmBudget {
  const { store, clock } = options;
  return {
    async check(workspaceId, workflowId) {
      const workflow = await store.getWorkflow(workspaceId, workflowId);
      const tokensPerDay = (workflow?.definition as WorkflowDefinition | undefined)?.llmBudget?.tokensPerDay;
      if (tokensPerDay === undefined) return;
      const used = await store.getLlmUsage(workspaceId, workflowId, utcDay(clock()));
      if (used >= tokensPerDay) throw budgetExceeded(tokensPerDay, used);
    },
    async record(workspaceId, workflowId, tokens) {
      if (tokens > 0) await store.addLlmUsage(workspaceId, workflowId, utcDay(clock()), tokens);
    },
  };
}
