import { HookflowError } from '../../../errors/catalogue.js';

/** Where an LLM step checks and records the tokens its workflow used today (src/app/llm-budget.ts). */
export interface LlmBudget {
  /** Throws HOOKFLOW_ERR_BUDGET_EXCEEDED when the workflow used up its tokens for today. */
  check(workspaceId: string, workflowId: string): Promise<void>;
  /** Adds what a call used. */
  record(workspaceId: string, workflowId: string, tokens: number): Promise<void>;
}

/** The UTC day a time falls on, as budgets count: `YYYY-MM-DD`. */
export function utcDay(time: number): string {
  return new Date(time).toISOString().slice(0, 10);
}

/** The tokens an OpenAI-compatible `usage` reports: `total_tokens`, else prompt + completion. */
export function tokensOf(usage: Record<string, unknown> | undefined): number {
  if (usage === undefined) return 0;
  const total = usage['total_tokens'];
  if (typeof total === 'number' && Number.isFinite(total) && total >= 0) return Math.round(total);
  const parts = [usage['prompt_tokens'], usage['completion_tokens']].filter((n): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0);
  return Math.round(parts.reduce((sum, n) => sum + n, 0));
}

/** The error of an LLM step whose workflow used up its tokens for today: permanent, and says when it resets. */
export function budgetExceeded(tokensPerDay: number, used: number, whose: 'workflow' | 'workspace' = 'workflow'): HookflowError {
  const what = whose === 'workflow' ? 'LLM budget' : 'Workspace LLM budget';
  return new HookflowError('HOOKFLOW_ERR_BUDGET_EXCEEDED', `${what} used up: ${used} of ${tokensPerDay} tokens today (UTC); it resets at 00:00 UTC`);
}
