/**
 * Per-key ordering and per-workflow caps, decided at claim time by both stores (docs/runs.md
 * "Ordering and concurrency"). A workflow's `concurrency: {key, limit}` gives each run a key at
 * ingest; runs of one key run at most `limit` at a time, in arrival order. `maxConcurrentRuns`
 * caps a workflow's running runs. Both are read from the workflow's latest version, so changing
 * them applies to runs already queued.
 */

/** The claim-relevant settings of a workflow definition; null: no such limit. */
export interface ClaimLimits {
  concurrencyLimit: number | null;
  maxConcurrentRuns: number | null;
}

/** Reads `concurrency.limit` and `maxConcurrentRuns` from a stored (already validated) definition. */
export function claimLimitsOf(definition: unknown): ClaimLimits {
  const d = (definition ?? {}) as { concurrency?: { limit?: unknown }; maxConcurrentRuns?: unknown };
  const limit = d.concurrency === undefined ? null : typeof d.concurrency.limit === 'number' ? d.concurrency.limit : 1;
  return { concurrencyLimit: limit, maxConcurrentRuns: typeof d.maxConcurrentRuns === 'number' ? d.maxConcurrentRuns : null };
}

/** A due, queued run as the claim sees it, in queue order (available_at, id). */
export interface ClaimCandidate {
  id: string;
  workspaceId: string;
  workflowId: string;
  /** Null: the run has no key (its workflow had no `concurrency` when it arrived). */
  concurrencyKey: string | null;
  /** Arrival order among keyed runs (a sequence the store assigns at insert). */
  arrival: number | null;
  concurrencyLimit: number | null;
  maxConcurrentRuns: number | null;
}

/** How busy a candidate's key and workflow are, as stored before this claim. */
export interface CandidateLoad {
  /** Queued or running runs of the same key that arrived before it (counting up to the limit is enough). */
  aheadActive: number;
  /** Running runs of the same key. */
  keyRunning: number;
  /** Running runs of the same workflow. */
  workflowRunning: number;
}

/** Whether the claim must look at the run's key or workflow before handing it out. */
export function isConstrained(candidate: ClaimCandidate): boolean {
  return candidate.maxConcurrentRuns !== null || (candidate.concurrencyLimit !== null && candidate.concurrencyKey !== null);
}

/**
 * Picks, in queue order, up to `limit` candidates that may start now. A keyed run waits while
 * `limit` runs of its key arrived before it and are not finished (so a run in retry backoff
 * holds its key: arrival order is kept; once it is dead-lettered the next one goes), or while
 * `limit` of its key are running. `load` is asked only for constrained candidates, and only
 * once per key that turns out blocked: every later arrival of that key waits behind it.
 */
export function chooseClaims(candidates: readonly ClaimCandidate[], limit: number, load: (candidate: ClaimCandidate) => CandidateLoad): string[] {
  const chosen: string[] = [];
  const startedPerWorkflow = new Map<string, number>();
  const startedPerKey = new Map<string, number>();
  const blockedFrom = new Map<string, number>();
  for (const candidate of candidates) {
    if (chosen.length >= limit) break;
    if (!isConstrained(candidate)) {
      chosen.push(candidate.id);
      continue;
    }
    const workflow = JSON.stringify([candidate.workspaceId, candidate.workflowId]);
    const keyed = candidate.concurrencyLimit !== null && candidate.concurrencyKey !== null;
    const key = keyed ? JSON.stringify([candidate.workspaceId, candidate.workflowId, candidate.concurrencyKey]) : '';
    const blockedAt = keyed ? blockedFrom.get(key) : undefined;
    if (blockedAt !== undefined && (candidate.arrival ?? 0) > blockedAt) continue;
    const { aheadActive, keyRunning, workflowRunning } = load(candidate);
    if (candidate.maxConcurrentRuns !== null && workflowRunning + (startedPerWorkflow.get(workflow) ?? 0) >= candidate.maxConcurrentRuns) continue;
    if (keyed) {
      const keyLimit = candidate.concurrencyLimit ?? 1;
      if (aheadActive >= keyLimit || keyRunning + (startedPerKey.get(key) ?? 0) >= keyLimit) {
        blockedFrom.set(key, Math.min(blockedAt ?? Infinity, candidate.arrival ?? 0));
        continue;
      }
      startedPerKey.set(key, (startedPerKey.get(key) ?? 0) + 1);
    }
    startedPerWorkflow.set(workflow, (startedPerWorkflow.get(workflow) ?? 0) + 1);
    chosen.push(candidate.id);
  }
  return chosen;
}

/** Keys longer than this are stored as their SHA-256 (hex): equal keys stay equal, the index stays small. */
export const MAX_STORED_KEY_LENGTH = 200;
