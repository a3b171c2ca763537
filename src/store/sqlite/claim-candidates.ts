import type Database from 'better-sqlite3';
import { chooseClaims, isConstrained, type CandidateLoad, type ClaimCandidate } from '../claim-order.js';

/** Most queued rows one claim looks at to find runs their key or cap lets start. */
const MAX_CLAIM_SCAN = 10_000;

/**
 * Ids of up to `limit` due runs that may start now (claim-order.ts), in queue order. Runs
 * held back by their key or their workflow's cap are skipped, so the queue is read in growing
 * pages until enough are found, the due runs run out, or MAX_CLAIM_SCAN rows were looked at.
 */
export function claimableRuns(sql: (text: string) => Database.Statement, now: number, limit: number): { id: string; constrained: boolean }[] {
  const page = sql(`
    SELECT r.id, r.workspace_id AS workspaceId, r.workflow_id AS workflowId, r.concurrency_key AS concurrencyKey, r.arrival,
           w.concurrency_limit AS concurrencyLimit, w.max_concurrent_runs AS maxConcurrentRuns
    FROM runs r LEFT JOIN workflows w ON w.workspace_id = r.workspace_id AND w.id = r.workflow_id
    WHERE r.status = 'queued' AND r.available_at <= ? ORDER BY r.available_at, r.id LIMIT ? OFFSET ?`);
  const ahead = sql(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM runs WHERE workspace_id = ? AND workflow_id = ? AND concurrency_key = ?
    AND status IN ('queued', 'running') AND arrival < ? ORDER BY arrival DESC LIMIT ?)`);
  const keyRunning = sql("SELECT COUNT(*) AS n FROM runs WHERE workspace_id = ? AND workflow_id = ? AND concurrency_key = ? AND status = 'running'");
  const workflowRunning = sql("SELECT COUNT(*) AS n FROM runs WHERE workspace_id = ? AND workflow_id = ? AND status = 'running'");
  const count = (statement: Database.Statement, ...values: unknown[]): number => (statement.get(...values) as { n: number }).n;
  const load = (c: ClaimCandidate): CandidateLoad => {
    const keyed = c.concurrencyKey !== null && c.concurrencyLimit !== null;
    return {
      aheadActive: keyed ? count(ahead, c.workspaceId, c.workflowId, c.concurrencyKey, c.arrival ?? 0, c.concurrencyLimit) : 0,
      keyRunning: keyed ? count(keyRunning, c.workspaceId, c.workflowId, c.concurrencyKey) : 0,
      workflowRunning: c.maxConcurrentRuns !== null ? count(workflowRunning, c.workspaceId, c.workflowId) : 0,
    };
  };
  const candidates: ClaimCandidate[] = [];
  const described = (ids: string[]) => {
    const byId = new Map(candidates.map((c) => [c.id, c]));
    return ids.map((id) => ({ id, constrained: isConstrained(byId.get(id) as ClaimCandidate) }));
  };
  let size = limit;
  while (candidates.length < MAX_CLAIM_SCAN) {
    const rows = page.all(now, size, candidates.length) as ClaimCandidate[];
    candidates.push(...rows);
    const chosen = chooseClaims(candidates, limit, load);
    if (chosen.length >= limit || rows.length < size) return described(chosen);
    size *= 4;
  }
  return described(chooseClaims(candidates, limit, load));
}
