import type { RunRecord, Store } from '../store/store.js';
import { eventView, rejectedCallView, runSummaryView } from './run-view.js';

/** One change the live stream sends: a stored request, a refused call, or a run's new state. */
export type FeedItem =
  | { type: 'event'; data: Record<string, unknown> }
  | { type: 'refused'; data: Record<string, unknown> }
  | { type: 'run'; data: Record<string, unknown> };

/** Options of WorkflowChangeFeed. */
export interface ChangeFeedOptions {
  store: Store;
  workspaceId: string;
  workflowId: string;
  /** Newest rows of each kind read per poll; more changes than this between two polls show only the newest. */
  window: number;
}

/** A run's state as far as a viewer can tell a change: status, attempts, end. */
const runState = (run: RunRecord): string => `${run.status}/${run.attempts}/${run.finishedAt ?? ''}`;

/**
 * What changed in one workflow since the last poll, read from the store: the newest `window`
 * events, refused calls and runs, compared with what the previous poll saw. Polling the store
 * (three indexed reads, newest first) works the same on one node and on many sharing PostgreSQL:
 * a webhook taken or a run finished by another node shows up at the next poll.
 */
export class WorkflowChangeFeed {
  private readonly seenEvents = new Set<string>();
  private readonly seenRefused = new Set<string>();
  private readonly runStates = new Map<string, string>();
  private primed = false;

  constructor(private readonly options: ChangeFeedOptions) {}

  /** Changes since the previous call, oldest first. The first call only notes what exists and answers nothing. */
  async poll(): Promise<FeedItem[]> {
    const { store, workspaceId, workflowId, window } = this.options;
    const [events, refused, runs] = await Promise.all([
      store.listEvents(workspaceId, workflowId, {}, { limit: window }),
      store.listRejectedCalls(workspaceId, workflowId, { limit: window }),
      store.listRuns(workspaceId, workflowId, {}, { limit: window }),
    ]);
    const items: FeedItem[] = [];
    for (const event of [...events.items].reverse()) {
      if (!this.seenEvents.has(event.id)) items.push({ type: 'event', data: eventView(event) });
    }
    for (const call of [...refused.items].reverse()) {
      if (!this.seenRefused.has(call.id)) items.push({ type: 'refused', data: rejectedCallView(call) });
    }
    for (const run of [...runs.items].reverse()) {
      if (this.runStates.get(run.id) !== runState(run)) items.push({ type: 'run', data: runSummaryView(run) });
    }
    // Only what the window still holds is remembered: memory stays bounded by `window`.
    replaceWith(this.seenEvents, events.items.map((e) => e.id));
    replaceWith(this.seenRefused, refused.items.map((r) => r.id));
    this.runStates.clear();
    for (const run of runs.items) this.runStates.set(run.id, runState(run));
    const first = !this.primed;
    this.primed = true;
    return first ? [] : items;
  }
}

function replaceWith(set: Set<string>, values: readonly string[]): void {
  set.clear();
  for (const value of values) set.add(value);
}
