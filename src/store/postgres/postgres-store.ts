import type { Pool, QueryResultRow } from 'pg';
import { HookflowError } from '../../errors/catalogue.js';
import { decodeCursor, pageOf } from '../cursor.js';
import { checkReadiness, type PendingWrites, type Readiness } from '../readiness.js';
import type {
  ApiTokenRecord, AttemptRef, AuditRecord, ClaimedRun, EventRecord, IngestRecord, IngestResult, JobRecord, Page, PageRequest, RejectedCallRecord,
  RunRecord, RunStatus, SecretRecord, SessionRecord, StepResultRecord, Store, TestRunRecord, WorkflowRecord, Workspace, WorkspaceSecretRecord, QueueSnapshot, WebhookStatRow,
} from '../store.js';
import { stepCounts, type StepStatus } from '../store.js';
import * as attempts from './attempt-writes.js';
import { claimRuns } from './claim-runs.js';
import { IngestBatcher } from './ingest-batch.js';
import { migrate } from './migrations.js';
import { isUniqueViolation, storageError } from './pg-errors.js';
import { createPool } from './pg-pool.js';
import { prune } from './prune.js';
import { saveTestRun } from './test-run-writes.js';
import { replayRun, resumeRun } from './replay-run.js';
import {
  type ApiTokenRow, type AuditRow, type EventRow, JOB_COLUMNS, type JobRow, jobValues, type RejectedRow, type RunRow, type SecretRow, type StepRow,
  toApiToken, toAudit, toEvent, toJob, toRejectedCall, toRun, toSecret, toStepResult, toTestRun, toWorkflow, toWorkspace, toWorkspaceSecret, WORKFLOW_SELECT,
  TEST_RUN_LIST_COLUMNS, type TestRunRow,
  type WorkflowRow, type WorkspaceRow, type WorkspaceSecretRow, toWebhookStat, type WebhookStatDbRow,
} from '../rows.js';
import { RunNotifier, type WorkflowChange } from './run-notifier.js';
import { PostgresAlertStore } from './postgres-alert-store.js';
import * as workflows from './workflow-writes.js';
import * as sessions from './session-writes.js';
import * as workspaceSecrets from './workspace-secret-writes.js';

/** How `openStore` opens PostgreSQL storage. */
export interface PostgresStoreOptions {
  /** `postgres://…`; `?options=-c search_path=…` picks a schema. */
  connectionString: string;
  /** Ingest calls allowed to wait for a commit; more are refused at once (→ 503). */
  maxPending: number;
  /** An ingest not committed within this answers 503; also the connect timeout and every other query's, ms. */
  writeTimeoutMs: number;
}

/**
 * The scale-out store: any number of `serve` and `worker` processes share one database.
 * Ingest is group-committed (IngestBatcher); the runs table is the queue, claimed with
 * FOR UPDATE SKIP LOCKED and fenced per attempt (claim-runs.ts, attempt-writes.ts); commits
 * that queue runs NOTIFY `hookflow_runs`, which `onRunQueued` listens to.
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  private readonly batcher: IngestBatcher;
  private readonly notifier: RunNotifier;
  private closed: Promise<void> | null = null;
  readonly alerts: PostgresAlertStore;

  private constructor(private readonly pool: Pool, options: PostgresStoreOptions) {
    this.alerts = new PostgresAlertStore(pool);
    this.batcher = new IngestBatcher({ pool, maxPending: options.maxPending, timeoutMs: options.writeTimeoutMs });
    this.notifier = new RunNotifier({ connectionString: options.connectionString, connectTimeoutMs: options.writeTimeoutMs });
  }

  /** Connects and applies pending migrations; STORAGE_UNAVAILABLE when the server cannot be reached. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const pool = createPool({ connectionString: options.connectionString, connectTimeoutMs: options.writeTimeoutMs, queryTimeoutMs: options.writeTimeoutMs });
    try {
      await migrate(pool);
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw storageError(error, 'migration');
    }
    return new PostgresStore(pool, options);
  }

  /**
   * Calls `listener` whenever any node commits a run to the queue (ingest, retry, release,
   * replay), so idle workers wake without waiting for their poll. PostgreSQL-only: SQLite has
   * one process, whose ingress wakes its workers directly. Returns the unsubscribe function.
   * A wake-up is a hint, never a hand-over: the listener should still claim and poll.
   */
  onRunQueued(listener: () => void): () => void {
    return this.notifier.subscribe(listener);
  }

  onWorkflowChanged(listener: (change: WorkflowChange) => void): () => void {
    return this.notifier.subscribeWorkflowChanges(listener);
  }

  private async rows<Row extends QueryResultRow>(action: string, text: string, values: unknown[] = []): Promise<Row[]> {
    try {
      return (await this.pool.query<Row>(text, values)).rows;
    } catch (error) {
      throw storageError(error, action);
    }
  }

  /** A newest-first page ordered by (`timeColumn` DESC, `idColumn` DESC); `where` uses $1… for `params`. */
  private async page<Row extends QueryResultRow, T>(options: {
    from: string; where: string; params: unknown[]; timeColumn: string; idColumn?: string; page: PageRequest;
    map: (row: Row) => T; position: (item: T) => { time: number; id: string };
  }): Promise<Page<T>> {
    const id = options.idColumn ?? 'id';
    const params = [...options.params];
    let where = options.where;
    if (options.page.cursor !== undefined) {
      const after = decodeCursor(options.page.cursor);
      if (after === null) throw new HookflowError('HOOKFLOW_ERR_VALIDATION', 'Invalid cursor');
      params.push(after.time, after.id);
      where += ` AND (${options.timeColumn}, ${id}) < ($${params.length - 1}, $${params.length})`;
    }
    params.push(options.page.limit + 1);
    const text = `${options.from} WHERE ${where} ORDER BY ${options.timeColumn} DESC, ${id} DESC LIMIT $${params.length}`;
    const rows = (await this.rows<Row>('read', text, params)).map(options.map);
    return pageOf(rows, options.page.limit, options.position);
  }

  /** A real write: SELECT 1 needs no disk space and would pass on a full disk. */
  async ping(): Promise<void> {
    await this.rows('ping', 'INSERT INTO readiness_probe (id, checked_at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET checked_at = EXCLUDED.checked_at', [Date.now()]);
  }

  readiness(timeoutMs: number): Promise<Readiness> {
    return checkReadiness({ probe: () => this.ping(), pending: this.pendingWrites(), timeoutMs });
  }

  pendingWrites(): PendingWrites {
    return this.batcher.pendingWrites();
  }

  /** Lets pending ingests commit (bounded by the write timeout), then ends the listener and the pool. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      await this.batcher.close();
      await this.notifier.close();
      await this.pool.end();
    })();
    return this.closed;
  }

  async createWorkspace(workspace: Workspace): Promise<void> {
    try {
      await this.pool.query('INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3)', [workspace.id, workspace.name, workspace.createdAt]);
    } catch (error) {
      if (isUniqueViolation(error)) throw new HookflowError('HOOKFLOW_ERR_CONFLICT', `Workspace "${workspace.id}" already exists`, { cause: error });
      throw storageError(error, 'create workspace');
    }
  }

  async getWorkspace(id: string): Promise<Workspace | null> {
    const [row] = await this.rows<WorkspaceRow>('read', 'SELECT * FROM workspaces WHERE id = $1', [id]);
    return row === undefined ? null : toWorkspace(row);
  }

  listWorkspaces(page: PageRequest): Promise<Page<Workspace>> {
    return this.page<WorkspaceRow, Workspace>({
      from: 'SELECT * FROM workspaces', where: 'TRUE', params: [], timeColumn: 'created_at', page, map: toWorkspace,
      position: (w) => ({ time: w.createdAt, id: w.id }),
    });
  }

  createWorkflow(workflow: WorkflowRecord, secrets: SecretRecord[]): Promise<void> {
    return workflows.createWorkflow(this.pool, workflow, secrets);
  }

  updateWorkflow(workflow: WorkflowRecord, secrets: SecretRecord[], replaceSecretPurposes: string[]): Promise<void> {
    return workflows.updateWorkflow(this.pool, workflow, secrets, replaceSecretPurposes);
  }

  async getWorkflow(workspaceId: string, workflowId: string, version?: number): Promise<WorkflowRecord | null> {
    const [row] = version === undefined
      ? await this.rows<WorkflowRow>('read', `${WORKFLOW_SELECT} AND v.version = w.latest_version WHERE w.workspace_id = $1 AND w.id = $2 AND w.deleted_at IS NULL`, [workspaceId, workflowId])
      : await this.rows<WorkflowRow>('read', `${WORKFLOW_SELECT} WHERE v.workspace_id = $1 AND v.workflow_id = $2 AND v.version = $3`, [workspaceId, workflowId, version]);
    return row === undefined ? null : toWorkflow(row);
  }

  listWorkflows(workspaceId: string, page: PageRequest): Promise<Page<WorkflowRecord>> {
    return this.page<WorkflowRow, WorkflowRecord>({
      from: `${WORKFLOW_SELECT} AND v.version = w.latest_version`, where: 'w.workspace_id = $1 AND w.deleted_at IS NULL', params: [workspaceId],
      timeColumn: 'w.created_at', idColumn: 'w.id', page, map: toWorkflow, position: (w) => ({ time: w.createdAt, id: w.id }),
    });
  }

  deleteWorkflow(workspaceId: string, workflowId: string, _now: number): Promise<boolean> {
    return workflows.deleteWorkflow(this.pool, workspaceId, workflowId);
  }

  async listSecrets(workspaceId: string, workflowId: string): Promise<SecretRecord[]> {
    return (await this.rows<SecretRow>('read', 'SELECT * FROM secrets WHERE workspace_id = $1 AND workflow_id = $2 ORDER BY created_at, id', [workspaceId, workflowId])).map(toSecret);
  }

  rotateSecrets(add: SecretRecord[], expire: { id: string; expiresAt: number }[]): Promise<void> {
    return workflows.rotateSecrets(this.pool, add, expire);
  }

  async listAllSecrets(): Promise<SecretRecord[]> {
    return (await this.rows<SecretRow>('read', 'SELECT * FROM secrets ORDER BY id')).map(toSecret);
  }

  reencryptSecrets(updates: { id: string; ciphertext: string }[]): Promise<void> {
    return workflows.reencryptSecrets(this.pool, updates);
  }
  putWorkspaceSecret(secret: WorkspaceSecretRecord): Promise<{ created: boolean; createdAt: number }> {
    return workspaceSecrets.putWorkspaceSecret(this.pool, secret);
  }

  listWorkspaceSecrets(workspaceId: string, page: PageRequest): Promise<Page<WorkspaceSecretRecord>> {
    return this.page<WorkspaceSecretRow, WorkspaceSecretRecord>({
      from: 'SELECT * FROM workspace_secrets', where: 'workspace_id = $1', params: [workspaceId], timeColumn: 'created_at', idColumn: 'name', page,
      map: toWorkspaceSecret, position: (s) => ({ time: s.createdAt, id: s.name }),
    });
  }

  async getWorkspaceSecrets(workspaceId: string, names?: readonly string[]): Promise<WorkspaceSecretRecord[]> {
    const rows = names === undefined
      ? await this.rows<WorkspaceSecretRow>('read', 'SELECT * FROM workspace_secrets WHERE workspace_id = $1 ORDER BY name', [workspaceId])
      : await this.rows<WorkspaceSecretRow>('read', 'SELECT * FROM workspace_secrets WHERE workspace_id = $1 AND name = ANY($2::text[]) ORDER BY name', [workspaceId, [...names]]);
    return rows.map(toWorkspaceSecret);
  }

  deleteWorkspaceSecret(workspaceId: string, name: string): Promise<boolean> {
    return workspaceSecrets.deleteWorkspaceSecret(this.pool, workspaceId, name);
  }

  async listAllWorkspaceSecrets(): Promise<WorkspaceSecretRecord[]> {
    return (await this.rows<WorkspaceSecretRow>('read', 'SELECT * FROM workspace_secrets ORDER BY workspace_id, name')).map(toWorkspaceSecret);
  }

  reencryptWorkspaceSecrets(updates: { workspaceId: string; name: string; ciphertext: string }[]): Promise<void> {
    return workspaceSecrets.reencryptWorkspaceSecrets(this.pool, updates);
  }


  async getSetting(name: string): Promise<string | null> {
    const [row] = await this.rows<{ value: string }>('read', 'SELECT value FROM settings WHERE name = $1', [name]);
    return row?.value ?? null;
  }

  async claimSetting(name: string, value: string): Promise<string> {
    // Insert unless present, then read back what the first writer (this node or another) committed.
    await this.rows('write', 'INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, value]);
    const recorded = await this.getSetting(name);
    return recorded ?? value;
  }

  async putSetting(name: string, value: string): Promise<void> {
    await this.rows('write', 'INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value', [name, value]);
  }

  ingest(record: IngestRecord, now: number): Promise<IngestResult> {
    return this.batcher.submit(record, now);
  }

  async getEvent(workspaceId: string, eventId: string): Promise<EventRecord | null> {
    const [row] = await this.rows<EventRow>('read', 'SELECT * FROM events WHERE workspace_id = $1 AND id = $2', [workspaceId, eventId]);
    return row === undefined ? null : toEvent(row);
  }

  listEvents(workspaceId: string, workflowId: string, filter: { test?: boolean | undefined; filtered?: boolean | undefined }, page: PageRequest): Promise<Page<EventRecord>> {
    const params: unknown[] = [workspaceId, workflowId];
    let where = 'workspace_id = $1 AND workflow_id = $2';
    if (filter.test !== undefined) {
      params.push(filter.test);
      where += ` AND test = $${params.length}`;
    }
    if (filter.filtered !== undefined) {
      params.push(filter.filtered);
      where += ` AND filtered = $${params.length}`;
    }
    return this.page<EventRow, EventRecord>({
      from: 'SELECT * FROM events', where, params, timeColumn: 'received_at', page, map: toEvent, position: (e) => ({ time: e.receivedAt, id: e.id }),
    });
  }

  async recordRejectedCall(record: RejectedCallRecord): Promise<void> {
    await this.rows('record rejected call', 'INSERT INTO rejected_calls (id, workspace_id, workflow_id, received_at, status, reason, source_ip, body_bytes, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)', [
      record.id, record.workspaceId, record.workflowId, record.receivedAt, record.status, record.reason, record.sourceIp, record.bodyBytes, record.userAgent,
    ]);
  }

  listRejectedCalls(workspaceId: string, workflowId: string, page: PageRequest): Promise<Page<RejectedCallRecord>> {
    return this.page<RejectedRow, RejectedCallRecord>({
      from: 'SELECT * FROM rejected_calls', where: 'workspace_id = $1 AND workflow_id = $2', params: [workspaceId, workflowId],
      timeColumn: 'received_at', page, map: toRejectedCall, position: (r) => ({ time: r.receivedAt, id: r.id }),
    });
  }

  async getRun(workspaceId: string, runId: string): Promise<RunRecord | null> {
    const [row] = await this.rows<RunRow>('read', 'SELECT * FROM runs WHERE workspace_id = $1 AND id = $2', [workspaceId, runId]);
    return row === undefined ? null : toRun(row);
  }

  listRuns(workspaceId: string, workflowId: string, filter: { status?: RunStatus | undefined }, page: PageRequest): Promise<Page<RunRecord>> {
    const params: unknown[] = [workspaceId, workflowId];
    let where = 'workspace_id = $1 AND workflow_id = $2';
    if (filter.status !== undefined) {
      params.push(filter.status);
      where += ` AND status = $${params.length}`;
    }
    return this.page<RunRow, RunRecord>({
      from: 'SELECT * FROM runs', where, params, timeColumn: 'created_at', page, map: toRun, position: (r) => ({ time: r.createdAt, id: r.id }),
    });
  }

  async listStepResults(runId: string): Promise<StepResultRecord[]> {
    return (await this.rows<StepRow>('read', 'SELECT * FROM step_results WHERE run_id = $1 ORDER BY step_index', [runId])).map(toStepResult);
  }

  async selectRuns(workspaceId: string, workflowId: string, filter: { status: RunStatus; from: number; to: number; notReplayed: boolean; limit: number }): Promise<string[]> {
    const notReplayed = filter.notReplayed ? 'AND NOT EXISTS (SELECT 1 FROM runs replay WHERE replay.replay_of = r.id)' : '';
    const rows = await this.rows<{ id: string }>('read', `SELECT r.id FROM runs r WHERE r.workspace_id = $1 AND r.workflow_id = $2 AND r.status = $3 AND r.created_at BETWEEN $4 AND $5 ${notReplayed} ORDER BY r.created_at, r.id LIMIT $6`, [
      workspaceId, workflowId, filter.status, filter.from, filter.to, filter.limit,
    ]);
    return rows.map((row) => row.id);
  }

  async addLlmUsage(workspaceId: string, workflowId: string, day: string, tokens: number): Promise<void> {
    await this.rows('write', 'INSERT INTO llm_usage (workspace_id, workflow_id, day, tokens) VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id, workflow_id, day) DO UPDATE SET tokens = llm_usage.tokens + EXCLUDED.tokens', [
      workspaceId, workflowId, day, tokens,
    ]);
  }

  async getLlmUsage(workspaceId: string, workflowId: string, day: string): Promise<number> {
    const [row] = await this.rows<{ tokens: number }>('read', 'SELECT tokens FROM llm_usage WHERE workspace_id = $1 AND workflow_id = $2 AND day = $3', [workspaceId, workflowId, day]);
    return row?.tokens ?? 0;
  }

  async getWorkspaceLlmUsage(workspaceId: string, day: string): Promise<number> {
    const [row] = await this.rows<{ tokens: number }>('read', 'SELECT COALESCE(SUM(tokens), 0)::bigint AS tokens FROM llm_usage WHERE workspace_id = $1 AND day = $2', [workspaceId, day]);
    return row?.tokens ?? 0;
  }

  async saveJob(job: JobRecord): Promise<void> {
    await this.rows('write', `INSERT INTO jobs (${JOB_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`, jobValues(job));
  }

  async updateJobProgress(id: string, progress: { done: number; failed: number; lastError: string | null; status: JobRecord['status']; now: number }): Promise<boolean> {
    const result = await this.rows<{ id: string }>('write', "UPDATE jobs SET done = $2, failed = $3, last_error = $4, status = $5, updated_at = $6, finished_at = CASE WHEN $5 = 'running' THEN NULL ELSE $6::bigint END WHERE id = $1 AND status = 'running' RETURNING id", [
      id, progress.done, progress.failed, progress.lastError, progress.status, progress.now,
    ]);
    return result.length > 0;
  }

  async cancelJob(workspaceId: string, id: string, now: number): Promise<boolean> {
    const result = await this.rows<{ id: string }>('write', "UPDATE jobs SET status = 'cancelled', updated_at = $3, finished_at = $3 WHERE workspace_id = $1 AND id = $2 AND status = 'running' RETURNING id", [workspaceId, id, now]);
    return result.length > 0;
  }

  async getJob(workspaceId: string, id: string): Promise<JobRecord | null> {
    const [row] = await this.rows<JobRow>('read', 'SELECT * FROM jobs WHERE workspace_id = $1 AND id = $2', [workspaceId, id]);
    return row === undefined ? null : toJob(row);
  }

  listJobs(workspaceId: string, page: PageRequest): Promise<Page<JobRecord>> {
    return this.page<JobRow, JobRecord>({
      from: 'SELECT * FROM jobs', where: 'workspace_id = $1', params: [workspaceId], timeColumn: 'created_at', page, map: toJob, position: (j) => ({ time: j.createdAt, id: j.id }),
    });
  }

  saveTestRun(record: TestRunRecord, keep: number): Promise<void> {
    return saveTestRun(this.pool, record, keep);
  }

  async getTestRun(workspaceId: string, id: string): Promise<TestRunRecord | null> {
    const [row] = await this.rows<TestRunRow>('read', 'SELECT * FROM test_runs WHERE workspace_id = $1 AND id = $2', [workspaceId, id]);
    return row === undefined ? null : toTestRun(row);
  }

  listTestRuns(workspaceId: string, workflowId: string, page: PageRequest): Promise<Page<TestRunRecord>> {
    return this.page<TestRunRow, TestRunRecord>({
      from: `SELECT ${TEST_RUN_LIST_COLUMNS} FROM test_runs`, where: 'workspace_id = $1 AND workflow_id = $2', params: [workspaceId, workflowId], timeColumn: 'created_at', page,
      map: toTestRun, position: (t) => ({ time: t.createdAt, id: t.id }),
    });
  }

  async resumeRun(workspaceId: string, runId: string, options: { latestVersion: boolean; now: number }): Promise<RunRecord | null> {
    try {
      return await resumeRun(this.pool, { workspaceId, runId, ...options });
    } catch (error) {
      if (error instanceof HookflowError) throw error;
      throw storageError(error, 'resume run');
    }
  }

  replayRun(workspaceId: string, runId: string, newRunId: string, now: number): Promise<RunRecord | null> {
    return replayRun(this.pool, { workspaceId, runId, newRunId, now });
  }

  async listRunsSince(workspaceId: string, workflowId: string | null, since: number, limit: number): Promise<RunRecord[]> {
    const rows = workflowId === null
      ? await this.rows<RunRow>('read', 'SELECT * FROM runs WHERE workspace_id = $1 AND created_at >= $2 ORDER BY created_at DESC, id DESC LIMIT $3', [workspaceId, since, limit])
      : await this.rows<RunRow>('read', 'SELECT * FROM runs WHERE workspace_id = $1 AND workflow_id = $2 AND created_at >= $3 ORDER BY created_at DESC, id DESC LIMIT $4', [workspaceId, workflowId, since, limit]);
    return rows.map(toRun);
  }

  async addWebhookStats(rows: WebhookStatRow[]): Promise<void> {
    if (rows.length === 0) return;
    // One statement for the whole flush; rows of one key never repeat within a flush.
    await this.rows(
      'add webhook stats',
      `INSERT INTO webhook_stats (workspace_id, workflow_id, minute, outcome, status, latency_bucket, count)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::int[], $6::int[], $7::bigint[])
       ON CONFLICT (workspace_id, workflow_id, minute, outcome, status, latency_bucket) DO UPDATE SET count = webhook_stats.count + excluded.count`,
      [
        rows.map((r) => r.workspaceId), rows.map((r) => r.workflowId), rows.map((r) => r.minute), rows.map((r) => r.outcome),
        rows.map((r) => r.status), rows.map((r) => r.latencyBucket), rows.map((r) => r.count),
      ],
    );
  }

  async listWebhookStats(workspaceId: string, workflowId: string | null, since: number): Promise<WebhookStatRow[]> {
    const rows = workflowId === null
      ? await this.rows<WebhookStatDbRow>('read', 'SELECT * FROM webhook_stats WHERE workspace_id = $1 AND minute >= $2', [workspaceId, since])
      : await this.rows<WebhookStatDbRow>('read', 'SELECT * FROM webhook_stats WHERE workspace_id = $1 AND workflow_id = $2 AND minute >= $3', [workspaceId, workflowId, since]);
    return rows.map(toWebhookStat);
  }

  async queueSnapshot(now: number): Promise<QueueSnapshot> {
    const [row] = await this.rows<{ depth: number; due: number | null }>(
      'read',
      "SELECT COUNT(*)::int AS depth, MIN(available_at) FILTER (WHERE available_at <= $1) AS due FROM runs WHERE status = 'queued'",
      [now],
    );
    return { depth: row?.depth ?? 0, oldestDueAt: row?.due ?? null };
  }

  async createApiToken(token: ApiTokenRecord): Promise<void> {
    await this.rows('create token', 'INSERT INTO api_tokens (id, name, role, workspace_id, digest, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
      token.id, token.name, token.role, token.workspaceId, token.digestHex, token.createdAt, token.revokedAt,
    ]);
  }

  async getApiToken(id: string): Promise<ApiTokenRecord | null> {
    const [row] = await this.rows<ApiTokenRow>('read', 'SELECT * FROM api_tokens WHERE id = $1', [id]);
    return row === undefined ? null : toApiToken(row);
  }

  async findApiTokenByDigest(digestHex: string): Promise<ApiTokenRecord | null> {
    const [row] = await this.rows<ApiTokenRow>('read', 'SELECT * FROM api_tokens WHERE digest = $1', [digestHex]);
    return row === undefined ? null : toApiToken(row);
  }

  listApiTokens(filter: { workspaceId?: string | undefined }, page: PageRequest): Promise<Page<ApiTokenRecord>> {
    return this.page<ApiTokenRow, ApiTokenRecord>({
      from: 'SELECT * FROM api_tokens', where: filter.workspaceId === undefined ? 'TRUE' : 'workspace_id = $1', params: filter.workspaceId === undefined ? [] : [filter.workspaceId],
      timeColumn: 'created_at', page, map: toApiToken, position: (t) => ({ time: t.createdAt, id: t.id }),
    });
  }

  async revokeApiToken(id: string, now: number): Promise<boolean> {
    // The token's console sessions end in the same statement, so no node sees one outlive it.
    const rows = await this.rows('revoke token', `WITH revoked AS (UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING id),
      ended AS (DELETE FROM sessions WHERE token_id IN (SELECT id FROM revoked)) SELECT id FROM revoked`, [now, id]);
    return rows.length > 0;
  }

  createSession(session: SessionRecord): Promise<void> {
    return sessions.createSession(this.pool, session);
  }

  findSessionByDigest(digestHex: string): Promise<SessionRecord | null> {
    return sessions.findSessionByDigest(this.pool, digestHex);
  }

  touchSession(digestHex: string, now: number): Promise<void> {
    return sessions.touchSession(this.pool, digestHex, now);
  }

  deleteSession(digestHex: string): Promise<boolean> {
    return sessions.deleteSession(this.pool, digestHex);
  }

  endAdminSessions(): Promise<number> {
    return sessions.endAdminSessions(this.pool);
  }

  async appendAudit(record: AuditRecord): Promise<void> {
    await this.rows('append audit', 'INSERT INTO audit_log (id, at, actor_id, actor_name, action, workspace_id, target, source_ip, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)', [
      record.id, record.at, record.actorId, record.actorName, record.action, record.workspaceId, record.target, record.sourceIp, JSON.stringify(record.details),
    ]);
  }

  listAudit(filter: { workspaceId?: string | undefined }, page: PageRequest): Promise<Page<AuditRecord>> {
    return this.page<AuditRow, AuditRecord>({
      from: 'SELECT * FROM audit_log', where: filter.workspaceId === undefined ? 'TRUE' : 'workspace_id = $1', params: filter.workspaceId === undefined ? [] : [filter.workspaceId],
      timeColumn: 'at', page, map: toAudit, position: (a) => ({ time: a.at, id: a.id }),
    });
  }

  async countStepsSince(workspaceId: string, workflowId: string, since: number): Promise<Record<StepStatus, number>> {
    return stepCounts(await this.rows<{ status: string; n: string }>('read', 'SELECT s.status, COUNT(*) AS n FROM step_results s JOIN runs r ON r.id = s.run_id WHERE r.workspace_id = $1 AND r.workflow_id = $2 AND r.created_at >= $3 GROUP BY s.status', [workspaceId, workflowId, since]));
  }

  claimRuns(options: { workerId: string; limit: number; leaseMs: number; now: number }): Promise<ClaimedRun[]> {
    return claimRuns(this.pool, options);
  }

  heartbeat(ref: AttemptRef, leaseExpiresAt: number): Promise<boolean> {
    return attempts.heartbeat(this.pool, ref, leaseExpiresAt);
  }

  checkpointStep(ref: AttemptRef, step: StepResultRecord): Promise<boolean> {
    return attempts.checkpointStep(this.pool, ref, step);
  }

  async completeRun(ref: AttemptRef, now: number, finalStep?: StepResultRecord): Promise<boolean> {
    // Both writes are fenced: a crash between them leaves the step checkpointed and the run
    // leased; the next attempt finds nothing left to run and completes it.
    if (finalStep !== undefined && !(await attempts.checkpointStep(this.pool, ref, finalStep))) return false;
    return attempts.completeRun(this.pool, ref, now);
  }

  failRun(ref: AttemptRef, error: string, retryAt: number | null, now: number): Promise<boolean> {
    return attempts.failRun(this.pool, ref, error, retryAt, now);
  }

  releaseRun(ref: AttemptRef): Promise<boolean> {
    return attempts.releaseRun(this.pool, ref);
  }

  prune(before: number, now: number): Promise<{ runs: number; events: number }> {
    return prune(this.pool, before, now);
  }

  async nextDueAt(): Promise<number | null> {
    const [row] = await this.rows<{ due: number | null }>('read', "SELECT MIN(available_at) AS due FROM runs WHERE status = 'queued'");
    return row?.due ?? null;
  }
}
