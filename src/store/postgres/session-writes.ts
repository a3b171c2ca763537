import type { Pool } from 'pg';
import { sessionValues, toSession, type SessionRow } from '../rows.js';
import type { SessionRecord } from '../store.js';
import { storageError } from './pg-errors.js';

/*
 * Console sessions: management traffic, one statement each. Every node reads the same table, so
 * a session opened on one node works on the others and a sign-out or token revocation ends it
 * everywhere at once.
 */

export async function createSession(pool: Pool, session: SessionRecord): Promise<void> {
  try {
    // Dropping the expired rows in the same statement keeps the table small without a pruner.
    await pool.query(
      `WITH expired AS (DELETE FROM sessions WHERE expires_at <= $7)
       INSERT INTO sessions (digest, token_id, actor_id, actor_name, role, workspace_id, created_at, last_seen_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      sessionValues(session),
    );
  } catch (error) {
    throw storageError(error, 'create session');
  }
}

export async function findSessionByDigest(pool: Pool, digestHex: string): Promise<SessionRecord | null> {
  try {
    const { rows } = await pool.query<SessionRow>('SELECT * FROM sessions WHERE digest = $1', [digestHex]);
    return rows[0] === undefined ? null : toSession(rows[0]);
  } catch (error) {
    throw storageError(error, 'read');
  }
}

export async function touchSession(pool: Pool, digestHex: string, now: number): Promise<void> {
  try {
    await pool.query('UPDATE sessions SET last_seen_at = $2 WHERE digest = $1', [digestHex, now]);
  } catch (error) {
    throw storageError(error, 'touch session');
  }
}

/** Ends every session opened with the admin token (token_id is null only for those). */
export async function endAdminSessions(pool: Pool): Promise<number> {
  try {
    return (await pool.query('DELETE FROM sessions WHERE token_id IS NULL')).rowCount ?? 0;
  } catch (error) {
    throw storageError(error, 'end admin sessions');
  }
}

export async function deleteSession(pool: Pool, digestHex: string): Promise<boolean> {
  try {
    const result = await pool.query('DELETE FROM sessions WHERE digest = $1', [digestHex]);
    return (result.rowCount ?? 0) > 0;
  } catch (error) {
    throw storageError(error, 'delete session');
  }
}
