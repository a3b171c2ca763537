/**
 * "Deleted means gone" (docs/runs.md): the tables whose rows belong to one workflow id, each with
 * the column holding the id (beside `workspace_id`), children before parents. Deleting a
 * workflow deletes its rows in all of them, and in `step_results` through its runs; creating a
 * workflow under a used id does the same first, so it starts with no runs, events or stats and
 * at version 1. The audit log is not among them: it records what was done, including the delete.
 */
export const WORKFLOW_OWNED_TABLES: readonly (readonly [table: string, workflowColumn: string])[] = [
  ['runs', 'workflow_id'],
  ['events', 'workflow_id'],
  ['idempotency_keys', 'workflow_id'],
  ['rejected_calls', 'workflow_id'],
  ['webhook_stats', 'workflow_id'],
  ['llm_usage', 'workflow_id'],
  ['jobs', 'workflow_id'],
  ['secrets', 'workflow_id'],
  ['workflow_versions', 'workflow_id'],
  ['workflows', 'id'],
];
