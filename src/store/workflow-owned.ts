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
  ['test_runs', 'workflow_id'],
  ['alert_rules', 'workflow_id'],
  ['secrets', 'workflow_id'],
  ['workflow_versions', 'workflow_id'],
  ['workflows', 'id'],
];

/**
 * What belongs to the workflow's alert rules, deleted before the rules themselves: each statement
 * takes the workspace id and the workflow id, once each and in that order (`?` placeholders).
 */
export const WORKFLOW_RULE_CHILDREN: readonly string[] = [
  `DELETE FROM alert_deliveries WHERE history_id IN (SELECT h.id FROM alert_history h JOIN alert_rules r ON r.workspace_id = h.workspace_id AND r.id = h.rule_id WHERE r.workspace_id = ? AND r.workflow_id = ?)`,
  `DELETE FROM alert_history WHERE (workspace_id, rule_id) IN (SELECT workspace_id, id FROM alert_rules WHERE workspace_id = ? AND workflow_id = ?)`,
  `DELETE FROM alert_states WHERE (workspace_id, rule_id) IN (SELECT workspace_id, id FROM alert_rules WHERE workspace_id = ? AND workflow_id = ?)`,
];
