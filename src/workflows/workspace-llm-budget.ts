import type { Store } from '../store/store.js';

/**
 * A workspace's LLM budget: the tokens all its workflows' LLM steps may use per UTC day
 * together, beside each workflow's own `llmBudget`. Kept in the settings table (one row per
 * workspace that has one), so every node reads the same figure.
 */
const settingName = (workspaceId: string): string => `llm_budget:${workspaceId}`;

/** The workspace's tokens per day; null when it has no budget. */
export async function workspaceTokensPerDay(store: Store, workspaceId: string): Promise<number | null> {
  const value = await store.getSetting(settingName(workspaceId));
  const parsed = value === null ? null : (JSON.parse(value) as unknown);
  return typeof parsed === 'number' ? parsed : null;
}

/** Sets the workspace's tokens per day, or removes its budget with null. */
export async function setWorkspaceTokensPerDay(store: Store, workspaceId: string, tokensPerDay: number | null): Promise<void> {
  await store.putSetting(settingName(workspaceId), JSON.stringify(tokensPerDay));
}
