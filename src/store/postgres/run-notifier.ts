import { Client } from 'pg';

/** The NOTIFY channel a commit that queues a run signals on (database-wide, not per schema). */
export const RUN_QUEUED_CHANNEL = 'hookflow_runs';

/**
 * The NOTIFY channel a commit that changes a workflow or its secrets signals on, with
 * `<workspace id>/<workflow id>` as payload (ids never contain `/`), so every node drops its
 * cached trigger at once instead of after the cache TTL.
 */
export const WORKFLOW_CHANGED_CHANNEL = 'hookflow_workflows';

/** A workflow whose definition or secrets changed; null after a reconnect: changes may have been missed, forget all. */
export type WorkflowChange = { workspaceId: string; workflowId: string } | null;

/**
 * A scalar sub-select that sends one NOTIFY on RUN_QUEUED_CHANNEL when the CTE `cte` returned any
 * row. Embedded in the statement that queues runs, so the signal is sent by that statement's
 * own commit (PostgreSQL delivers NOTIFY at commit, and never for a rolled-back transaction).
 * pg_notify is volatile, so the planner keeps it even though only the count is read.
 */
export function notifyIfAny(cte: string): string {
  return `(SELECT count(*) FROM (SELECT pg_notify('${RUN_QUEUED_CHANNEL}', '') FROM (SELECT 1 FROM ${cte} LIMIT 1) AS queued) AS sent)::int`;
}

/** Options of RunNotifier. */
export interface RunNotifierOptions {
  connectionString: string;
  /** Give up one connection attempt after this, ms. */
  connectTimeoutMs: number;
  /** Wait before reconnecting after the listening connection is lost, ms. Default 1000. */
  retryMs?: number;
}

/**
 * LISTENs on RUN_QUEUED_CHANNEL and WORKFLOW_CHANGED_CHANNEL on one dedicated connection
 * (outside the pool: a LISTEN holds its connection for as long as it listens) and calls every
 * subscriber on each notification, so idle workers on every node wake when any node queues a
 * run, and every node's trigger cache forgets a workflow changed on another. Connects on the
 * first subscriber, disconnects after the last. A lost connection is retried; after a reconnect
 * the subscribers are called once (workflow subscribers with `null`), because notifications sent
 * while nobody listened are gone. Both are hints: workers still poll, and the trigger cache
 * keeps its TTL.
 */
export class RunNotifier {
  private readonly listeners = new Set<() => void>();
  private readonly workflowListeners = new Set<(change: WorkflowChange) => void>();
  private client: Client | null = null;
  private connecting: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private connectedBefore = false;
  private closed = false;

  constructor(private readonly options: RunNotifierOptions) {}

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    this.ensureListening();
    return () => {
      this.listeners.delete(listener);
      if (this.subscribers() === 0) void this.disconnect();
    };
  }

  /** Adds a listener for workflow changes; returns the function that removes it. */
  subscribeWorkflowChanges(listener: (change: WorkflowChange) => void): () => void {
    this.workflowListeners.add(listener);
    this.ensureListening();
    return () => {
      this.workflowListeners.delete(listener);
      if (this.subscribers() === 0) void this.disconnect();
    };
  }

  /** Stops listening for good; waits for the connection to end. */
  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    this.workflowListeners.clear();
    await this.disconnect();
  }

  private subscribers(): number {
    return this.listeners.size + this.workflowListeners.size;
  }

  private ensureListening(): void {
    if (this.closed || this.client !== null || this.connecting !== null || this.retryTimer !== null) return;
    this.connecting = this.connect().finally(() => {
      this.connecting = null;
    });
  }

  private async connect(): Promise<void> {
    const client = new Client({
      connectionString: this.options.connectionString,
      connectionTimeoutMillis: this.options.connectTimeoutMs,
      application_name: 'hookflow-listener',
    });
    client.on('notification', (message) => {
      if (message.channel === RUN_QUEUED_CHANNEL) this.emit();
      if (message.channel === WORKFLOW_CHANGED_CHANNEL) this.emitWorkflowChange(parseWorkflowChange(message.payload));
    });
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${RUN_QUEUED_CHANNEL}; LISTEN ${WORKFLOW_CHANGED_CHANNEL}`);
    } catch {
      await client.end().catch(() => undefined);
      this.scheduleRetry();
      return;
    }
    if (this.closed || this.subscribers() === 0) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    if (this.connectedBefore) {
      this.emit();
      this.emitWorkflowChange(null);
    }
    this.connectedBefore = true;
  }

  private lost(client: Client): void {
    if (this.client !== client) return;
    this.client = null;
    void client.end().catch(() => undefined);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.closed || this.subscribers() === 0 || this.retryTimer !== null) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.ensureListening();
    }, this.options.retryMs ?? 1000);
    this.retryTimer.unref();
  }

  private async disconnect(): Promise<void> {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    await this.connecting;
    // Someone subscribed again while we waited: keep listening for them.
    if (!this.closed && this.subscribers() > 0) return;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private emit(): void {
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch {
        // One failing listener must not keep the others asleep.
      }
    }
  }

  private emitWorkflowChange(change: WorkflowChange): void {
    for (const listener of [...this.workflowListeners]) {
      try {
        listener(change);
      } catch {
        // As above: each listener is told.
      }
    }
  }
}

function parseWorkflowChange(payload: string | undefined): WorkflowChange {
  const [workspaceId, workflowId, extra] = (payload ?? '').split('/');
  // Anything unexpected means "some workflow changed": forgetting all is always safe.
  return workspaceId && workflowId && extra === undefined ? { workspaceId, workflowId } : null;
}

/** Sends the workflow-changed signal from inside a transaction (delivered at its commit). */
export async function notifyWorkflowChanged(client: { query(text: string, values: unknown[]): Promise<unknown> }, workspaceId: string, workflowId: string): Promise<void> {
  await client.query('SELECT pg_notify($1, $2)', [WORKFLOW_CHANGED_CHANNEL, `${workspaceId}/${workflowId}`]);
}
