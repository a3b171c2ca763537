import type { Pool } from 'pg';
import type { WorkspaceSecretRecord } from '../store.js';
import { storageError } from './pg-errors.js';

/*
 * Workspace secret writes: management-API traffic, one statement each. The upsert answers
 * whether it inserted through `xmax = 0` (a fresh tuple has no deleting transaction), so two
 * PUTs of one new name at once create it once and update it once, with no read-then-write race.
 */

export async function putWorkspaceSecret(pool: Pool, secret: WorkspaceSecretRecord): Promise<{ created: boolean; createdAt: number }> {
  try {
    const { rows } = await pool.query<{ created: boolean; created_at: number }>(
      `INSERT INTO workspace_secrets (workspace_id, name, ciphertext, allowed_origins, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (workspace_id, name) DO UPDATE SET ciphertext = EXCLUDED.ciphertext, allowed_origins = EXCLUDED.allowed_origins, updated_at = EXCLUDED.updated_at
       RETURNING (xmax = 0) AS created, created_at`,
      [secret.workspaceId, secret.name, secret.ciphertext, JSON.stringify(secret.allowedOrigins), secret.createdAt, secret.updatedAt],
    );
    const row = rows[0];
    if (row === undefined) throw new Error('upsert returned no row');
    return { created: row.created, createdAt: row.created_at };
  } catch (error) {
    throw storageError(error, 'put workspace secret');
  }
}

export async function deleteWorkspaceSecret(pool: Pool, workspaceId: string, name: string): Promise<boolean> {
  try {
    const result = await pool.query('DELETE FROM workspace_secrets WHERE workspace_id = $1 AND name = $2', [workspaceId, name]);
    return (result.rowCount ?? 0) > 0;
  } catch (error) {
    throw storageError(error, 'delete workspace secret');
  }
}

export async function reencryptWorkspaceSecrets(pool: Pool, updates: { workspaceId: string; name: string; ciphertext: string }[]): Promise<void> {
  if (updates.length === 0) return;
  try {
    await pool.query(
      `UPDATE workspace_secrets s SET ciphertext = u.ciphertext
       FROM unnest($1::text[], $2::text[], $3::text[]) AS u(workspace_id, name, ciphertext)
       WHERE s.workspace_id = u.workspace_id AND s.name = u.name`,
      [updates.map((u) => u.workspaceId), updates.map((u) => u.name), updates.map((u) => u.ciphertext)],
    );
  } catch (error) {
    throw storageError(error, 're-encrypt workspace secrets');
  }
}
