import { describeStorageFailure } from './storage-failure.js';

/** How far behind the store's writer is: what readiness and admission control read. */
export interface PendingWrites {
  /** Writes waiting for a commit that the admission cap counts (ingests, management writes). */
  queued: number;
  /** Worker writes and probes waiting; never refused, bounded by worker concurrency. */
  urgent: number;
  /** HOOKFLOW_MAX_PENDING_WRITES: at `queued >= limit` new ingests are refused (503). */
  limit: number;
}

/** Whether a webhook could be committed now; if not, why, in words an operator acts on. */
export type Readiness = { ready: true } | { ready: false; reason: string };

/**
 * Readiness from the writer's backlog and a real write (`probe`), which must finish within
 * `timeoutMs`. Nothing is remembered between calls, so it turns ready by itself the moment the
 * cause (a full disk, a lock, an outage, a backlog) is gone. Never throws.
 */
export async function checkReadiness(options: { probe: () => Promise<void>; pending: PendingWrites; timeoutMs: number }): Promise<Readiness> {
  const { queued, limit } = options.pending;
  if (queued >= limit) return { ready: false, reason: `writer behind: ${queued} writes waiting for a commit (HOOKFLOW_MAX_PENDING_WRITES is ${limit})` };
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<Readiness>((resolve) => {
    timer = setTimeout(() => resolve({ ready: false, reason: `storage did not commit a probe write within ${options.timeoutMs} ms` }), options.timeoutMs);
  });
  const probed = options.probe().then(
    (): Readiness => ({ ready: true }),
    (error: unknown): Readiness => ({ ready: false, reason: reasonOf(error) }),
  );
  try {
    return await Promise.race([probed, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** The deepest error's code and message in `error`'s cause chain, described. */
function reasonOf(error: unknown): string {
  let code: string | undefined;
  let message = error instanceof Error ? error.message : String(error);
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    const own = (current as { code?: unknown }).code;
    // Our own HOOKFLOW_ERR_* codes say nothing about the cause; the driver's do.
    if (typeof own === 'string' && !own.startsWith('HOOKFLOW_ERR_')) {
      code = own;
      message = current.message;
    }
  }
  return describeStorageFailure(code, message);
}
