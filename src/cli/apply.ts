import type { ApiClient } from './api-client.js';
import { changedFields, type DesiredWorkflow } from './workflow-files.js';

/** One step of an apply. */
export type PlanItem =
  | { action: 'create-workspace'; workspace: string }
  | { action: 'create'; workspace: string; id: string; definition: Record<string, unknown> }
  | { action: 'update'; workspace: string; id: string; definition: Record<string, unknown>; changed: string[] }
  | { action: 'delete'; workspace: string; id: string }
  | { action: 'unchanged'; workspace: string; id: string };

const path = (workspace: string, id?: string): string =>
  `/api/workspaces/${encodeURIComponent(workspace)}${id === undefined ? '' : `/workflows/${encodeURIComponent(id)}`}`;

/**
 * What applying `desired` would do, reading only: a workspace that does not exist is created,
 * a workflow that does not exist is created, one that differs (see changedFields) is replaced by
 * a PUT (a new version); with `prune`, workflows of the named workspaces that no file declares
 * are deleted.
 */
export async function planApply(client: ApiClient, desired: readonly DesiredWorkflow[], options: { prune: boolean }): Promise<PlanItem[]> {
  const plan: PlanItem[] = [];
  const workspaces = [...new Set(desired.map((workflow) => workflow.workspace))];
  const existing = new Set<string>();
  for (const workspace of workspaces) {
    const answer = await client.call('GET', path(workspace));
    if (answer.status === 404) plan.push({ action: 'create-workspace', workspace });
    else if (answer.status < 400) existing.add(workspace);
    else await client.expect('GET', path(workspace));
  }
  for (const workflow of desired) {
    const answer = existing.has(workflow.workspace) ? await client.call('GET', path(workflow.workspace, workflow.id)) : { status: 404, body: null };
    if (answer.status === 404) {
      plan.push({ action: 'create', workspace: workflow.workspace, id: workflow.id, definition: workflow.definition });
      continue;
    }
    const current = answer.status < 400 ? (answer.body as Record<string, unknown>) : ((await client.expect('GET', path(workflow.workspace, workflow.id))) as Record<string, unknown>);
    const changed = changedFields(workflow.definition, current);
    plan.push(changed.length === 0
      ? { action: 'unchanged', workspace: workflow.workspace, id: workflow.id }
      : { action: 'update', workspace: workflow.workspace, id: workflow.id, definition: workflow.definition, changed });
  }
  if (options.prune) {
    for (const workspace of existing) {
      const declared = new Set(desired.filter((workflow) => workflow.workspace === workspace).map((workflow) => workflow.id));
      for (const id of (await client.listAll(`${path(workspace)}/workflows`)).map((item) => String(item['id']))) {
        if (!declared.has(id)) plan.push({ action: 'delete', workspace, id });
      }
    }
  }
  return plan;
}

/** Carries out a plan in order; stops at the first refusal (what was done stays done). */
export async function executePlan(client: ApiClient, plan: readonly PlanItem[]): Promise<void> {
  for (const item of plan) {
    switch (item.action) {
      case 'create-workspace':
        await client.expect('POST', '/api/workspaces', { id: item.workspace, name: item.workspace });
        break;
      case 'create':
        await client.expect('POST', `${path(item.workspace)}/workflows`, item.definition);
        break;
      case 'update':
        await client.expect('PUT', path(item.workspace, item.id), item.definition);
        break;
      case 'delete':
        await client.expect('DELETE', path(item.workspace, item.id));
        break;
      case 'unchanged':
        break;
    }
  }
}

/** The plan as lines: `+ create`, `~ update (fields)`, `- delete`, `= unchanged`, then a summary. */
export function describePlan(plan: readonly PlanItem[], colour: boolean): string {
  const paint = (code: number, text: string): string => (colour ? `\u001b[${code}m${text}\u001b[0m` : text);
  const lines = plan.map((item) => {
    switch (item.action) {
      case 'create-workspace': return paint(32, `+ workspace ${item.workspace}`);
      case 'create': return paint(32, `+ create ${item.workspace}/${item.id}`);
      case 'update': return paint(33, `~ update ${item.workspace}/${item.id} (${item.changed.join(', ')})`);
      case 'delete': return paint(31, `- delete ${item.workspace}/${item.id}`);
      case 'unchanged': return `= unchanged ${item.workspace}/${item.id}`;
    }
  });
  const count = (action: PlanItem['action']): number => plan.filter((item) => item.action === action).length;
  const changes = plan.length - count('unchanged');
  lines.push(changes === 0
    ? 'No changes.'
    : `Plan: ${count('create')} to create, ${count('update')} to update, ${count('delete')} to delete, ${count('unchanged')} unchanged${count('create-workspace') > 0 ? `, ${count('create-workspace')} workspace(s) to create` : ''}.`);
  return lines.join('\n');
}
