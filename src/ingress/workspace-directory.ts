import { RESOURCE_ID } from '../config/workflow-definition.js';
import type { Store } from '../store/store.js';

export interface WorkspaceDirectoryOptions {
  store: Store;
  /** How long an answer is trusted, ms. */
  ttlMs: number;
  /** Most ids remembered (invented ones included). */
  maxEntries: number;
}

/**
 * Whether a workspace exists, cached: asked only for calls to workflow ids that name nothing, so
 * they are counted under their workspace when it is real and under `(unknown)` when the id was
 * invented too — ids chosen by callers never become metric labels or stored stats of their own.
 */
export class WorkspaceDirectory {
  private readonly entries = new Map<string, { exists: boolean; loadedAt: number }>();

  constructor(private readonly options: WorkspaceDirectoryOptions) {}

  async exists(workspaceId: string, now: number): Promise<boolean> {
    const entry = this.entries.get(workspaceId);
    if (entry !== undefined && now - entry.loadedAt < this.options.ttlMs) return entry.exists;
    if (!RESOURCE_ID.test(workspaceId)) return false;
    const exists = (await this.options.store.getWorkspace(workspaceId)) !== null;
    if (this.entries.size >= this.options.maxEntries && !this.entries.has(workspaceId)) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(workspaceId, { exists, loadedAt: now });
    return exists;
  }
}
