import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { HookflowError } from '../../errors/catalogue.js';
import { decodeCursor, pageOf } from '../cursor.js';
import type {
  ApiTokenRecord, AttemptRef, AuditRecord, ClaimedRun, EventRecord, IngestRecord, IngestResult, JobRecord, Page, PageRequest, RejectedCallRecord, RunRecord,
  RunStatus, SecretRecord, SessionRecord, StepResultRecord, Store, TestRunRecord, Workspace, WorkflowRecord, WorkspaceSecretRecord, QueueSnapshot, WebhookStatRow,
} from '../store.js';
import { isFinishedStep, stepCounts, type StepStatus } from '../store.js';
import { MainThreadIngest, type IngestSyncObserver } from './main-ingest.js';
import { openReadConnection, openWriteConnection } from './open-database.js';
import {
  serializeStep, toApiToken, toAudit, toSession, type SessionRow, toEvent, toJob, toRejectedCall, toRun, toSecret, toStepResult, toTestRun, toWorkflow, toWorkspace, toWorkspaceSecret, WORKFLOW_SELECT,
  TEST_RUN_LIST_COLUMNS, testRunValues, type TestRunRow,
  type ApiTokenRow, type AuditRow, type EventRow, type JobRow, type RejectedRow, type RunRow, type SecretRow, type StepRow, type WorkflowRow, type WorkspaceRow, type WorkspaceSecretRow, toWebhookStat, type WebhookStatDbRow,
} from '../rows.js';
import { checkReadiness, type PendingWrites, type Readiness } from '../readiness.js';
import { WriterClient } from './writer-client.js';
import { SqliteAlertStore } from './sqlite-alert-store.js';
import { sqliteRead, statementCache } from './statements.js';

/** SQLite file name inside the data dir. */
export const SQLITE_FILE = 'hookflow.db';
/** Written and removed by the readiness probe (see WriterThreadOptions.probeFile). */
const PROBE_FILE = '.hookflow-ready-probe';

export interface SqliteStoreOptions {
  dataDir: string;
  synchronous: 'FULL' | 'NORMAL' | 'EXTRA';
  busyTimeoutMs: number;
  maxBatch: number;
  maxPending: number;
  writeTimeoutMs: number;
  /** Where webhooks commit: `main` (main thread + async fdatasync, main-ingest.ts) or `writer` (the writer thread). */
  ingestPath?: 'main' | 'writer' | undefined;
  /** Main path: ingests between two checkpoints the writer thread is asked for (HOOKFLOW_SQLITE_CHECKPOINT_ROWS). */
  checkpointEveryRows?: number | undefined;
  /** Test-only seam: sees the main path's WAL fsyncs. */
  ingestObserver?: IngestSyncObserver | undefined;
}


/**
 * The embedded store: one SQLite file in WAL mode. Webhooks commit on the main thread with an
 * asynchronous fsync (main-ingest.ts) unless `ingestPath` is `writer`; every other write goes to
 * the writer thread (group commit); reads run here on a read-only connection, which WAL lets
 * proceed during commits.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly sql: (text: string) => Database.Statement;
  readonly alerts: SqliteAlertStore;

  private constructor(
    private readonly writer: WriterClient,
    private readonly reader: Database.Database,
    private readonly main: { ingest: MainThreadIngest; db: Database.Database } | null,
  ) {
    this.sql = statementCache(reader);
    this.alerts = new SqliteAlertStore(writer, reader);
  }

  /** Opens (and migrates) the database in `dataDir`. */
  static async open(options: SqliteStoreOptions): Promise<SqliteStore> {
    // Owner-only: the database holds every received request (payloads may carry personal data).
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    const file = join(options.dataDir, SQLITE_FILE);
    // Created owner-only before SQLite opens it: SQLite gives the WAL and SHM files the mode of
    // the database file, so all three stay private whatever the umask.
    closeSync(openSync(file, 'a', 0o600));
    const walLock = options.ingestPath === 'writer' ? undefined : new SharedArrayBuffer(4);
    const writer = new WriterClient({
      file,
      walLock,
      synchronous: options.synchronous,
      busyTimeoutMs: options.busyTimeoutMs,
      maxBatch: options.maxBatch,
      maxPending: options.maxPending,
      timeoutMs: options.writeTimeoutMs,
      probeFile: join(options.dataDir, PROBE_FILE),
    });
    await writer.start();
    const reader = openReadConnection({ file, busyTimeoutMs: options.busyTimeoutMs });
    if (walLock === undefined) return new SqliteStore(writer, reader, null);
    // busy_timeout 0: the event loop never waits for SQLite's lock; a busy group goes to the writer.
    const db = openWriteConnection({ file, synchronous: 'NORMAL', busyTimeoutMs: 0, autocheckpoint: 0 });
    const ingest = new MainThreadIngest({
      db,
      walFile: `${file}-wal`,
      sync: options.synchronous !== 'NORMAL',
      maxBatch: options.maxBatch,
      maxPending: options.maxPending,
      timeoutMs: options.writeTimeoutMs,
      walLock: new Int32Array(walLock),
      fallback: (record, now) => writer.call('ingest', { record, now }),
      requestCheckpoint: () => writer.requestCheckpoint(),
      checkpointEveryRows: options.checkpointEveryRows ?? 1000,
      observer: options.ingestObserver,
    });
    return new SqliteStore(writer, reader, { ingest, db });
  }

  /** Runs a read, turning SQLite's storage errors into STORAGE_UNAVAILABLE. */
  private read<T>(query: () => T): Promise<T> {
    return sqliteRead(query);
  }

  /** A newest-first page over `table` ordered by (`timeColumn` DESC, id DESC). */
  private page<Row, T>(options: {
    from: string; where: string; params: unknown[]; timeColumn: string; page: PageRequest; map: (row: Row) => T; position: (item: T) => { time: number; id: string };
    idColumn?: string;
  }): Promise<Page<T>> {
    const id = options.idColumn ?? 'id';
    let where = options.where;
    const params = [...options.params];
    if (options.page.cursor !== undefined) {
      const after = decodeCursor(options.page.cursor);
      if (after === null) return Promise.reject(new HookflowError('HOOKFLOW_ERR_VALIDATION', 'Invalid cursor'));
      where += ` AND (${options.timeColumn} < ? OR (${options.timeColumn} = ? AND ${id} < ?))`;
      params.push(after.time, after.time, after.id);
    }
    const text = `${options.from} WHERE ${where} ORDER BY ${options.timeColumn} DESC, ${id} DESC LIMIT ?`;
    return this.read(() => {
      const rows = (this.sql(text).all(...params, options.page.limit + 1) as Row[]).map(options.map);
      return pageOf(rows, options.page.limit, options.position);
    });
  }

  /** A real write commits (the lock is free, the disk has room), and reads answer. */
  async ping(): Promise<void> {
    await this.writer.call('ping', undefined);
    await this.read(() => void this.sql('SELECT 1').get());
  }

  readiness(timeoutMs: number): Promise<Readiness> {
    return checkReadiness({ probe: () => this.ping(), pending: this.pendingWrites(), timeoutMs });
  }

  pendingWrites(): PendingWrites {
    const writer = this.writer.pendingWrites();
    return this.main === null ? writer : { ...writer, queued: writer.queued + this.main.ingest.pending() };
  }

  async close(): Promise<void> {
    if (this.main !== null) {
      await this.main.ingest.close();
      this.main.db.close();
    }
    await this.writer.close();
    this.reader.close();
  }

  createWorkspace(workspace: Workspace): Promise<void> {
    return this.writer.call('createWorkspace', workspace);
  }

  getWorkspace(id: string): Promise<Workspace | null> {
    return this.read(() => {
      const row = this.sql('SELECT * FROM workspaces WHERE id = ?').get(id) as WorkspaceRow | undefined;
      return row === undefined ? null : toWorkspace(row);
    });
  }

  listWorkspaces(page: PageRequest): Promise<Page<Workspace>> {
    return this.page<WorkspaceRow, Workspace>({
      from: 'SELECT * FROM workspaces', where: '1 = 1', params: [], timeColumn: 'created_at', page, map: toWorkspace,
      position: (w) => ({ time: w.createdAt, id: w.id }),
    });
  }

  async createWorkflow(workflow: WorkflowRecord, secrets: SecretRecord[]): Promise<void> {
    await this.writer.call('createWorkflow', { workflow, secrets });
  }

  async updateWorkflow(workflow: WorkflowRecord, secrets: SecretRecord[], replaceSecretPurposes: string[]): Promise<void> {
    await this.writer.call('updateWorkflow', { workflow, secrets, replaceSecretPurposes });
  }

  getWorkflow(workspaceId: string, workflowId: string, version?: number): Promise<WorkflowRecord | null> {
    return this.read(() => {
      const row = (version === undefined
        ? this.sql(`${WORKFLOW_SELECT} AND v.version = w.latest_version WHERE w.workspace_id = ? AND w.id = ? AND w.deleted_at IS NULL`).get(workspaceId, workflowId)
        : this.sql(`${WORKFLOW_SELECT} WHERE v.workspace_id = ? AND v.workflow_id = ? AND v.version = ?`).get(workspaceId, workflowId, version)) as WorkflowRow | undefined;
      return row === undefined ? null : toWorkflow(row);
    });
  }

  listWorkflows(workspaceId: string, page: PageRequest): Promise<Page<WorkflowRecord>> {
    return this.page<WorkflowRow, WorkflowRecord>({
      from: `${WORKFLOW_SELECT} AND v.version = w.latest_version`, where: 'w.workspace_id = ? AND w.deleted_at IS NULL', params: [workspaceId],
      timeColumn: 'w.created_at', idColumn: 'w.id', page, map: toWorkflow, position: (w) => ({ time: w.createdAt, id: w.id }),
    });
  }

  deleteWorkflow(workspaceId: string, workflowId: string, now: number): Promise<boolean> {
    return this.writer.call('deleteWorkflow', { workspaceId, workflowId, now });
  }

  listSecrets(workspaceId: string, workflowId: string): Promise<SecretRecord[]> {
    return this.read(() => (this.sql('SELECT * FROM secrets WHERE workspace_id = ? AND workflow_id = ? ORDER BY created_at, id').all(workspaceId, workflowId) as SecretRow[]).map(toSecret));
  }

  rotateSecrets(add: SecretRecord[], expire: { id: string; expiresAt: number }[]): Promise<void> {
    return this.writer.call('rotateSecrets', { add, expire });
  }

  listAllSecrets(): Promise<SecretRecord[]> {
    return this.read(() => (this.sql('SELECT * FROM secrets ORDER BY id').all() as SecretRow[]).map(toSecret));
  }

  reencryptSecrets(updates: { id: string; ciphertext: string }[]): Promise<void> {
    return this.writer.call('reencryptSecrets', updates);
  }
  putWorkspaceSecret(secret: WorkspaceSecretRecord): Promise<{ created: boolean; createdAt: number }> {
    return this.writer.call('putWorkspaceSecret', secret);
  }

  listWorkspaceSecrets(workspaceId: string, page: PageRequest): Promise<Page<WorkspaceSecretRecord>> {
    return this.page<WorkspaceSecretRow, WorkspaceSecretRecord>({
      from: 'SELECT * FROM workspace_secrets', where: 'workspace_id = ?', params: [workspaceId], timeColumn: 'created_at', idColumn: 'name', page,
      map: toWorkspaceSecret, position: (s) => ({ time: s.createdAt, id: s.name }),
    });
  }

  getWorkspaceSecrets(workspaceId: string, names?: readonly string[]): Promise<WorkspaceSecretRecord[]> {
    return this.read(() => {
      const rows = this.sql('SELECT * FROM workspace_secrets WHERE workspace_id = ? ORDER BY name').all(workspaceId) as WorkspaceSecretRow[];
      return rows.filter((row) => names === undefined || names.includes(row.name)).map(toWorkspaceSecret);
    });
  }

  deleteWorkspaceSecret(workspaceId: string, name: string): Promise<boolean> {
    return this.writer.call('deleteWorkspaceSecret', { workspaceId, name });
  }

  listAllWorkspaceSecrets(): Promise<WorkspaceSecretRecord[]> {
    return this.read(() => (this.sql('SELECT * FROM workspace_secrets ORDER BY workspace_id, name').all() as WorkspaceSecretRow[]).map(toWorkspaceSecret));
  }

  reencryptWorkspaceSecrets(updates: { workspaceId: string; name: string; ciphertext: string }[]): Promise<void> {
    return this.writer.call('reencryptWorkspaceSecrets', updates);
  }


  getSetting(name: string): Promise<string | null> {
    return this.read(() => (this.sql('SELECT value FROM settings WHERE name = ?').get(name) as { value: string } | undefined)?.value ?? null);
  }

  claimSetting(name: string, value: string): Promise<string> {
    return this.writer.call('claimSetting', { name, value });
  }

  putSetting(name: string, value: string): Promise<void> {
    return this.writer.call('putSetting', { name, value });
  }

  ingest(record: IngestRecord, now: number): Promise<IngestResult> {
    if (this.main !== null) return this.main.ingest.ingest(record, now);
    return this.writer.call('ingest', { record, now });
  }

  getEvent(workspaceId: string, eventId: string): Promise<EventRecord | null> {
    return this.read(() => {
      const row = this.sql('SELECT * FROM events WHERE workspace_id = ? AND id = ?').get(workspaceId, eventId) as EventRow | undefined;
      return row === undefined ? null : toEvent(row);
    });
  }

  listEvents(workspaceId: string, workflowId: string, filter: { test?: boolean | undefined; filtered?: boolean | undefined }, page: PageRequest): Promise<Page<EventRecord>> {
    const params: unknown[] = [workspaceId, workflowId];
    let where = 'workspace_id = ? AND workflow_id = ?';
    if (filter.test !== undefined) {
      where += ' AND test = ?';
      params.push(filter.test ? 1 : 0);
    }
    if (filter.filtered !== undefined) {
      where += ' AND filtered = ?';
      params.push(filter.filtered ? 1 : 0);
    }
    return this.page<EventRow, EventRecord>({
      from: 'SELECT * FROM events', where, params, timeColumn: 'received_at', page, map: toEvent, position: (e) => ({ time: e.receivedAt, id: e.id }),
    });
  }

  recordRejectedCall(record: RejectedCallRecord): Promise<void> {
    return this.writer.call('recordRejectedCall', record);
  }

  listRejectedCalls(workspaceId: string, workflowId: string, page: PageRequest): Promise<Page<RejectedCallRecord>> {
    return this.page<RejectedRow, RejectedCallRecord>({
      from: 'SELECT * FROM rejected_calls', where: 'workspace_id = ? AND workflow_id = ?', params: [workspaceId, workflowId],
      timeColumn: 'received_at', page, map: toRejectedCall, position: (r) => ({ time: r.receivedAt, id: r.id }),
    });
  }

  getRun(workspaceId: string, runId: string): Promise<RunRecord | null> {
    return this.read(() => {
      const row = this.sql('SELECT * FROM runs WHERE workspace_id = ? AND id = ?').get(workspaceId, runId) as RunRow | undefined;
      return row === undefined ? null : toRun(row);
    });
  }

  listRuns(workspaceId: string, workflowId: string, filter: { status?: RunStatus | undefined }, page: PageRequest): Promise<Page<RunRecord>> {
    const params: unknown[] = [workspaceId, workflowId];
    let where = 'workspace_id = ? AND workflow_id = ?';
    if (filter.status !== undefined) {
      where += ' AND status = ?';
      params.push(filter.status);
    }
    return this.page<RunRow, RunRecord>({
      from: 'SELECT * FROM runs', where, params, timeColumn: 'created_at', page, map: toRun, position: (r) => ({ time: r.createdAt, id: r.id }),
    });
  }

  listStepResults(runId: string): Promise<StepResultRecord[]> {
    return this.read(() => (this.sql('SELECT * FROM step_results WHERE run_id = ? ORDER BY step_index').all(runId) as StepRow[]).map(toStepResult));
  }

  selectRuns(workspaceId: string, workflowId: string, filter: { status: RunStatus; from: number; to: number; notReplayed: boolean; limit: number }): Promise<string[]> {
    const notReplayed = filter.notReplayed ? 'AND NOT EXISTS (SELECT 1 FROM runs replay WHERE replay.replay_of = r.id)' : '';
    return this.read(() => (this.sql(`SELECT r.id FROM runs r WHERE r.workspace_id = ? AND r.workflow_id = ? AND r.status = ? AND r.created_at BETWEEN ? AND ? ${notReplayed} ORDER BY r.created_at, r.id LIMIT ?`)
      .all(workspaceId, workflowId, filter.status, filter.from, filter.to, filter.limit) as { id: string }[]).map((row) => row.id));
  }

  addLlmUsage(workspaceId: string, workflowId: string, day: string, tokens: number): Promise<void> {
    return this.writer.call('addLlmUsage', { workspaceId, workflowId, day, tokens });
  }

  getLlmUsage(workspaceId: string, workflowId: string, day: string): Promise<number> {
    return this.read(() => (this.sql('SELECT tokens FROM llm_usage WHERE workspace_id = ? AND workflow_id = ? AND day = ?').get(workspaceId, workflowId, day) as { tokens: number } | undefined)?.tokens ?? 0);
  }

  getWorkspaceLlmUsage(workspaceId: string, day: string): Promise<number> {
    return this.read(() => (this.sql('SELECT COALESCE(SUM(tokens), 0) AS tokens FROM llm_usage WHERE workspace_id = ? AND day = ?').get(workspaceId, day) as { tokens: number }).tokens);
  }

  saveJob(job: JobRecord): Promise<void> {
    return this.writer.call('saveJob', job);
  }

  updateJobProgress(id: string, progress: { done: number; failed: number; lastError: string | null; status: JobRecord['status']; now: number }): Promise<boolean> {
    return this.writer.call('updateJobProgress', { id, ...progress });
  }

  cancelJob(workspaceId: string, id: string, now: number): Promise<boolean> {
    return this.writer.call('cancelJob', { workspaceId, id, now });
  }

  getJob(workspaceId: string, id: string): Promise<JobRecord | null> {
    return this.read(() => {
      const row = this.sql('SELECT * FROM jobs WHERE workspace_id = ? AND id = ?').get(workspaceId, id) as JobRow | undefined;
      return row === undefined ? null : toJob(row);
    });
  }

  listJobs(workspaceId: string, page: PageRequest): Promise<Page<JobRecord>> {
    return this.page<JobRow, JobRecord>({
      from: 'SELECT * FROM jobs', where: 'workspace_id = ?', params: [workspaceId], timeColumn: 'created_at', page, map: toJob, position: (j) => ({ time: j.createdAt, id: j.id }),
    });
  }

  saveTestRun(record: TestRunRecord, keep: number): Promise<void> {
    return this.writer.call('saveTestRun', { values: testRunValues(record), workspaceId: record.workspaceId, workflowId: record.workflowId, keep });
  }

  getTestRun(workspaceId: string, id: string): Promise<TestRunRecord | null> {
    return this.read(() => {
      const row = this.sql('SELECT * FROM test_runs WHERE workspace_id = ? AND id = ?').get(workspaceId, id) as TestRunRow | undefined;
      return row === undefined ? null : toTestRun(row);
    });
  }

  listTestRuns(workspaceId: string, workflowId: string, page: PageRequest): Promise<Page<TestRunRecord>> {
    return this.page<TestRunRow, TestRunRecord>({
      from: `SELECT ${TEST_RUN_LIST_COLUMNS} FROM test_runs`, where: 'workspace_id = ? AND workflow_id = ?', params: [workspaceId, workflowId], timeColumn: 'created_at', page,
      map: toTestRun, position: (t) => ({ time: t.createdAt, id: t.id }),
    });
  }

  resumeRun(workspaceId: string, runId: string, options: { latestVersion: boolean; now: number }): Promise<RunRecord | null> {
    return this.writer.call('resumeRun', { workspaceId, runId, ...options });
  }

  replayRun(workspaceId: string, runId: string, newRunId: string, now: number): Promise<RunRecord | null> {
    return this.writer.call('replayRun', { workspaceId, runId, newRunId, now });
  }

  listRunsSince(workspaceId: string, workflowId: string | null, since: number, limit: number): Promise<RunRecord[]> {
    return this.read(() =>
      (workflowId === null
        ? (this.sql('SELECT * FROM runs WHERE workspace_id = ? AND created_at >= ? ORDER BY created_at DESC, id DESC LIMIT ?').all(workspaceId, since, limit) as RunRow[])
        : (this.sql('SELECT * FROM runs WHERE workspace_id = ? AND workflow_id = ? AND created_at >= ? ORDER BY created_at DESC, id DESC LIMIT ?').all(workspaceId, workflowId, since, limit) as RunRow[])
      ).map(toRun),
    );
  }

  addWebhookStats(rows: WebhookStatRow[]): Promise<void> {
    return this.writer.call('addWebhookStats', rows);
  }

  listWebhookStats(workspaceId: string, workflowId: string | null, since: number): Promise<WebhookStatRow[]> {
    return this.read(() =>
      (workflowId === null
        ? (this.sql('SELECT * FROM webhook_stats WHERE workspace_id = ? AND minute >= ?').all(workspaceId, since) as WebhookStatDbRow[])
        : (this.sql('SELECT * FROM webhook_stats WHERE workspace_id = ? AND workflow_id = ? AND minute >= ?').all(workspaceId, workflowId, since) as WebhookStatDbRow[])
      ).map(toWebhookStat),
    );
  }

  queueSnapshot(now: number): Promise<QueueSnapshot> {
    return this.read(() => {
      const row = this.sql("SELECT COUNT(*) AS depth, MIN(CASE WHEN available_at <= ? THEN available_at END) AS due FROM runs WHERE status = 'queued'").get(now) as { depth: number; due: number | null };
      return { depth: row.depth, oldestDueAt: row.due };
    });
  }

  createApiToken(token: ApiTokenRecord): Promise<void> {
    return this.writer.call('createApiToken', token);
  }

  getApiToken(id: string): Promise<ApiTokenRecord | null> {
    return this.read(() => {
      const row = this.sql('SELECT * FROM api_tokens WHERE id = ?').get(id) as ApiTokenRow | undefined;
      return row === undefined ? null : toApiToken(row);
    });
  }

  findApiTokenByDigest(digestHex: string): Promise<ApiTokenRecord | null> {
    return this.read(() => {
      const row = this.sql('SELECT * FROM api_tokens WHERE digest = ?').get(digestHex) as ApiTokenRow | undefined;
      return row === undefined ? null : toApiToken(row);
    });
  }

  listApiTokens(filter: { workspaceId?: string | undefined }, page: PageRequest): Promise<Page<ApiTokenRecord>> {
    return this.page<ApiTokenRow, ApiTokenRecord>({
      from: 'SELECT * FROM api_tokens', where: filter.workspaceId === undefined ? '1 = 1' : 'workspace_id = ?', params: filter.workspaceId === undefined ? [] : [filter.workspaceId],
      timeColumn: 'created_at', page, map: toApiToken, position: (t) => ({ time: t.createdAt, id: t.id }),
    });
  }

  revokeApiToken(id: string, now: number): Promise<boolean> {
    return this.writer.call('revokeApiToken', { id, now });
  }

  appendAudit(record: AuditRecord): Promise<void> {
    return this.writer.call('appendAudit', record);
  }

  createSession(session: SessionRecord): Promise<void> {
    return this.writer.call('createSession', session);
  }

  findSessionByDigest(digestHex: string): Promise<SessionRecord | null> {
    return this.read(() => {
      const row = this.sql('SELECT * FROM sessions WHERE digest = ?').get(digestHex) as SessionRow | undefined;
      return row === undefined ? null : toSession(row);
    });
  }

  touchSession(digestHex: string, now: number): Promise<void> {
    return this.writer.call('touchSession', { digestHex, now });
  }

  deleteSession(digestHex: string): Promise<boolean> {
    return this.writer.call('deleteSession', digestHex);
  }

  endAdminSessions(): Promise<number> {
    return this.writer.call('endAdminSessions', undefined);
  }

  listAudit(filter: { workspaceId?: string | undefined }, page: PageRequest): Promise<Page<AuditRecord>> {
    return this.page<AuditRow, AuditRecord>({
      from: 'SELECT * FROM audit_log', where: filter.workspaceId === undefined ? '1 = 1' : 'workspace_id = ?', params: filter.workspaceId === undefined ? [] : [filter.workspaceId],
      timeColumn: 'at', page, map: toAudit, position: (a) => ({ time: a.at, id: a.id }),
    });
  }

  countStepsSince(workspaceId: string, workflowId: string, since: number): Promise<Record<StepStatus, number>> {
    return this.read(() => stepCounts(this.sql('SELECT s.status, COUNT(*) AS n FROM step_results s JOIN runs r ON r.id = s.run_id WHERE r.workspace_id = ? AND r.workflow_id = ? AND r.created_at >= ? GROUP BY s.status').all(workspaceId, workflowId, since) as { status: string; n: number }[]));
  }

  async claimRuns(options: { workerId: string; limit: number; leaseMs: number; now: number }): Promise<ClaimedRun[]> {
    const runs = await this.writer.call('claimRuns', { ...options, sentAt: Date.now() });
    const claimed: ClaimedRun[] = [];
    for (const run of runs) {
      const ref = { runId: run.id, attempt: run.attempts, workerId: options.workerId };
      let loaded: [EventRecord | null, WorkflowRecord | null, StepResultRecord[]];
      try {
        loaded = await Promise.all([
          this.getEvent(run.workspaceId, run.eventId),
          this.getWorkflow(run.workspaceId, run.workflowId, run.workflowVersion),
          this.listStepResults(run.id),
        ]);
      } catch (error) {
        // A run leased but not handed over MUST be settled now, or it sits out its lease as
        // running under a worker that never got it. It alone: the others go on. Its attempt
        // counts (retried after one lease, dead-lettered after the last), so a row that can never
        // be read neither blocks the queue nor is claimed forever. If this write fails too,
        // lease expiry recovers it.
        const retryAt = run.attempts < run.maxAttempts ? options.now + options.leaseMs : null;
        await this.failRun(ref, `Could not read the run's event or workflow: ${error instanceof Error ? error.message : String(error)}`, retryAt, options.now).catch(() => false);
        continue;
      }
      const [event, workflow, steps] = loaded;
      if (event === null || workflow === null) {
        // Its event or version was pruned: it can never run, and must not block the queue.
        await this.failRun(ref, 'Event or workflow version no longer exists', null, options.now);
        continue;
      }
      claimed.push({ run, event, workflow, finishedSteps: steps.filter(isFinishedStep) });
    }
    return claimed;
  }

  heartbeat(ref: AttemptRef, leaseExpiresAt: number): Promise<boolean> {
    return this.writer.call('heartbeat', { ref, leaseExpiresAt });
  }

  checkpointStep(ref: AttemptRef, step: StepResultRecord): Promise<boolean> {
    return this.writer.call('checkpointStep', { ref, step: serializeStep(step) });
  }

  completeRun(ref: AttemptRef, now: number, finalStep?: StepResultRecord): Promise<boolean> {
    return this.writer.call('completeRun', { ref, now, finalStep: finalStep === undefined ? undefined : serializeStep(finalStep) });
  }

  failRun(ref: AttemptRef, error: string, retryAt: number | null, now: number): Promise<boolean> {
    return this.writer.call('failRun', { ref, error, retryAt, now });
  }

  releaseRun(ref: AttemptRef): Promise<boolean> {
    return this.writer.call('releaseRun', ref);
  }

  prune(before: number, now: number): Promise<{ runs: number; events: number }> {
    return this.writer.call('prune', { before, now });
  }

  nextDueAt(): Promise<number | null> {
    return this.read(() => {
      const row = this.sql("SELECT MIN(available_at) AS due FROM runs WHERE status = 'queued'").get() as { due: number | null };
      return row.due;
    });
  }
}
