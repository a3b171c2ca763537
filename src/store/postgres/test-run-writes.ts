import type { Pool } from 'pg';
import { TEST_RUN_LIST_COLUMNS, testRunValues } from '../rows.js';
import type { TestRunRecord } from '../store.js';
import { withTransaction } from './pg-pool.js';

/**
 * See `Store.saveTestRun`: the insert and the trim of the workflow's oldest test runs share one
 * transaction, so the table never holds more than `keep` of a workflow's test runs for longer
 * than two saves racing each other.
 */
export async function saveTestRun(pool: Pool, record: TestRunRecord, keep: number): Promise<void> {
  await withTransaction(pool, 'save test run', async (client) => {
    await client.query(`INSERT INTO test_runs (${TEST_RUN_LIST_COLUMNS}, result) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, testRunValues(record));
    await client.query(
      `DELETE FROM test_runs WHERE id IN (
         SELECT id FROM test_runs WHERE workspace_id = $1 AND workflow_id = $2 ORDER BY created_at DESC, id DESC OFFSET $3
       )`,
      [record.workspaceId, record.workflowId, keep],
    );
  });
}
