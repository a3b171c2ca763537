import type { Pool, PoolClient } from 'pg';
import { HookflowError } from '../../errors/catalogue.js';
import type { SecretRecord, WorkflowRecord } from '../store.js';
import { claimLimitsOf } from '../claim-order.js';
import { storageError } from './pg-errors.js';
import { longQuery, withTransaction } from './pg-pool.js';
import { notifyWorkflowChanged } from './run-notifier.js';
import { WORKFLOW_OWNED_TABLES, WORKFLOW_RULE_CHILDREN } from '../workflow-owned.js';

/*
 * Workflow and secret writes: management-API traffic, rare and small, so plain transactions.
 * The workflows row is locked first in each, so concurrent PUTs of one workflow take turns and
 * every version number is used once.
 */

const INSERT_SECRETS_SQL = `
  INSERT INTO secrets (id, workspace_id, workflow_id, purpose, ciphertext, created_at, expires_at, origin)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::text[])`;

async function insertSecrets(client: PoolClient, secrets: SecretRecord[]): Promise<void> {
  if (secrets.length === 0) return;
  await client.query(INSERT_SECRETS_SQL, [
    secrets.map((s) => s.id), secrets.map((s) => s.workspaceId), secrets.map((s) => s.workflowId), secrets.map((s) => s.purpose),
    secrets.map((s) => s.ciphertext), secrets.map((s) => s.createdAt), secrets.map((s) => s.expiresAt), secrets.map((s) => s.origin ?? null),
  ]);
}

/** The latest version's ordering limits, where the claim reads them (claim-order.ts). */
async function setClaimLimits(client: PoolClient, workflow: WorkflowRecord): Promise<void> {
  const limits = claimLimitsOf(workflow.definition);
  await client.query('UPDATE workflows SET concurrency_limit = $1, max_concurrent_runs = $2 WHERE workspace_id = $3 AND id = $4', [
    limits.concurrencyLimit, limits.maxConcurrentRuns, workflow.workspaceId, workflow.id,
  ]);
}

async function insertVersion(client: PoolClient, workflow: WorkflowRecord, version: number): Promise<void> {
  await client.query(
    'INSERT INTO workflow_versions (workspace_id, workflow_id, version, name, enabled, definition, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [workflow.workspaceId, workflow.id, version, workflow.name, workflow.enabled, JSON.stringify(workflow.definition), workflow.updatedAt],
  );
}

/**
 * Creates version 1 with its secrets. A used id starts clean: whatever an old workflow of that
 * id left (deleted before migration 14, or a webhook stored while it was being deleted) goes first.
 */
export async function createWorkflow(pool: Pool, workflow: WorkflowRecord, secrets: SecretRecord[]): Promise<void> {
  await withTransaction(pool, 'create workflow', async (client) => {
    const conflict = new HookflowError('HOOKFLOW_ERR_CONFLICT', `Workflow "${workflow.id}" already exists`);
    const existing = await client.query<{ deleted_at: number | null }>(
      'SELECT deleted_at FROM workflows WHERE workspace_id = $1 AND id = $2 FOR UPDATE', [workflow.workspaceId, workflow.id],
    );
    const row = existing.rows[0];
    if (row !== undefined && row.deleted_at === null) throw conflict;
    await purgeWorkflow(client, workflow.workspaceId, workflow.id);
    // Two creates of one new id at once: the second waits for the first, then inserts nothing.
    const inserted = await client.query('INSERT INTO workflows (workspace_id, id, latest_version, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
      workflow.workspaceId, workflow.id, workflow.version, workflow.createdAt,
    ]);
    if (inserted.rowCount === 0) throw conflict;
    await insertVersion(client, workflow, workflow.version);
    await setClaimLimits(client, workflow);
    await insertSecrets(client, secrets);
    await notifyWorkflowChanged(client, workflow.workspaceId, workflow.id);
  });
}

/** Deletes everything a workflow id owns (store/workflow-owned.ts); may take long for a big history. */
async function purgeWorkflow(client: PoolClient, workspaceId: string, workflowId: string): Promise<void> {
  await client.query(longQuery('DELETE FROM step_results WHERE run_id IN (SELECT id FROM runs WHERE workspace_id = $1 AND workflow_id = $2)', [workspaceId, workflowId]));
  for (const statement of WORKFLOW_RULE_CHILDREN) {
    let n = 0;
    await client.query(longQuery(statement.replace(/\?/g, () => `$${++n}`), [workspaceId, workflowId]));
  }
  for (const [table, column] of WORKFLOW_OWNED_TABLES) {
    await client.query(longQuery(`DELETE FROM ${table} WHERE workspace_id = $1 AND ${column} = $2`, [workspaceId, workflowId]));
  }
}

/** Adds the next version; replaces the secrets of `replaceSecretPurposes`; NOT_FOUND when unknown or deleted. */
export async function updateWorkflow(pool: Pool, workflow: WorkflowRecord, secrets: SecretRecord[], replaceSecretPurposes: string[]): Promise<void> {
  await withTransaction(pool, 'update workflow', async (client) => {
    const bumped = await client.query<{ latest_version: number }>(
      'UPDATE workflows SET latest_version = latest_version + 1 WHERE workspace_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING latest_version',
      [workflow.workspaceId, workflow.id],
    );
    const version = bumped.rows[0]?.latest_version;
    if (version === undefined) throw new HookflowError('HOOKFLOW_ERR_NOT_FOUND', `Workflow "${workflow.id}" not found`);
    await insertVersion(client, workflow, version);
    await setClaimLimits(client, workflow);
    if (replaceSecretPurposes.length > 0) {
      await client.query('DELETE FROM secrets WHERE workspace_id = $1 AND workflow_id = $2 AND purpose = ANY($3::text[])', [
        workflow.workspaceId, workflow.id, replaceSecretPurposes,
      ]);
    }
    await insertSecrets(client, secrets);
    await notifyWorkflowChanged(client, workflow.workspaceId, workflow.id);
  });
}

/** Deletes the workflow with its versions, secrets, runs, events and stats; false when there was no such (live) workflow. */
export async function deleteWorkflow(pool: Pool, workspaceId: string, workflowId: string): Promise<boolean> {
  return withTransaction(pool, 'delete workflow', async (client) => {
    const live = await client.query('SELECT 1 FROM workflows WHERE workspace_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE', [workspaceId, workflowId]);
    if (live.rowCount === 0) return false;
    await purgeWorkflow(client, workspaceId, workflowId);
    await notifyWorkflowChanged(client, workspaceId, workflowId);
    return true;
  });
}

/** Sets the expiry of `expire` and inserts `add`, in one transaction (key rotation). */
export async function rotateSecrets(pool: Pool, add: SecretRecord[], expire: { id: string; expiresAt: number }[]): Promise<void> {
  await withTransaction(pool, 'rotate secrets', async (client) => {
    if (expire.length > 0) {
      await client.query('UPDATE secrets s SET expires_at = e.expires_at FROM unnest($1::text[], $2::bigint[]) AS e(id, expires_at) WHERE s.id = e.id', [
        expire.map((e) => e.id), expire.map((e) => e.expiresAt),
      ]);
    }
    await insertSecrets(client, add);
    const owners = new Set(add.map((secret) => `${secret.workspaceId}/${secret.workflowId}`));
    for (const owner of owners) {
      const [workspaceId = '', workflowId = ''] = owner.split('/');
      await notifyWorkflowChanged(client, workspaceId, workflowId);
    }
  });
}

/** Rewrites ciphertexts in one statement (master-key rotation). */
export async function reencryptSecrets(pool: Pool, updates: { id: string; ciphertext: string }[]): Promise<void> {
  if (updates.length === 0) return;
  try {
    await pool.query('UPDATE secrets s SET ciphertext = u.ciphertext FROM unnest($1::text[], $2::text[]) AS u(id, ciphertext) WHERE s.id = u.id', [
      updates.map((u) => u.id), updates.map((u) => u.ciphertext),
    ]);
  } catch (error) {
    throw storageError(error, 're-encrypt secrets');
  }
}
