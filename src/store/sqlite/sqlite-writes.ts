import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { HookflowError } from '../../errors/catalogue.js';
import type {
  ApiTokenRecord, AttemptRef, AuditRecord, IngestRecord, IngestResult, JobRecord, RejectedCallRecord, RunRecord, SecretRecord, SessionRecord,
  WorkflowRecord, Workspace, WorkspaceSecretRecord, WebhookStatRow,
} from '../store.js';
import { claimLimitsOf } from '../claim-order.js';
import { claimableRuns } from './claim-candidates.js';
import { WORKFLOW_OWNED_TABLES, WORKFLOW_RULE_CHILDREN } from '../workflow-owned.js';
import { JOB_COLUMNS, jobValues, sessionValues, TEST_RUN_LIST_COLUMNS, toRun, type RunRow, type SerializedStep } from '../rows.js';
import type { AlertChannelRecord, AlertDeliveryUpdate, AlertRuleRecord, AlertTransition } from '../alert-store.js';
import { SqliteAlertWrites } from './sqlite-alert-writes.js';
import { statementCache } from './statements.js';

/**
 * Stores a step's result. A result of an earlier attempt of the same step (a retry, a resume) is
 * replaced, and its summary appended to `earlier_attempts`, so run detail shows every attempt.
 */
const CHECKPOINT_SQL = `
  INSERT INTO step_results (run_id, step_id, step_index, type, attempt, status, started_at, finished_at, output, memory_writes, error, logs, usage, condition, continued)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (run_id, step_id) DO UPDATE SET
    earlier_attempts = CASE WHEN step_results.attempt <> excluded.attempt
      THEN json_insert(step_results.earlier_attempts, '$[#]', json_object('attempt', step_results.attempt, 'status', step_results.status,
        'startedAt', step_results.started_at, 'finishedAt', step_results.finished_at, 'error', step_results.error))
      ELSE step_results.earlier_attempts END,
    step_index = excluded.step_index, type = excluded.type, attempt = excluded.attempt, status = excluded.status,
    started_at = excluded.started_at, finished_at = excluded.finished_at, output = excluded.output,
    memory_writes = excluded.memory_writes, error = excluded.error, logs = excluded.logs, usage = excluded.usage,
    condition = excluded.condition, continued = excluded.continued`;

const SESSION_INSERT_SQLITE = 'INSERT INTO sessions (digest, token_id, actor_id, actor_name, role, workspace_id, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)';

/**
 * Every write hookflow makes to SQLite. Runs only in the writer thread, which owns the one write
 * connection; the thread calls these inside its group-commit transaction (one savepoint each),
 * so none of them opens a transaction of its own.
 */
export class SqliteWrites {
  private readonly sql: (text: string) => Database.Statement;
  private readonly alerts: SqliteAlertWrites;

  constructor(
    db: Database.Database,
    private readonly options: { /** See WriterThreadOptions.probeFile; none: no space probe. */ probeFile?: string } = {},
  ) {
    this.sql = statementCache(db);
    this.alerts = new SqliteAlertWrites(db);
  }

  /**
   * The readiness probe, in a write transaction: proves the writer thread takes writes and the
   * lock can be had, and that the disk (or quota) still has room. A commit alone does not show
   * that: SQLite reuses WAL space it already holds, so an idle server on a full disk commits a
   * small write fine while a webhook needing one more page fails. A fresh 64 KiB allocation
   * beside the database fails with ENOSPC/EDQUOT exactly then.
   */
  ping(): void {
    this.sql('INSERT INTO readiness_probe (id, checked_at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at').run(Date.now());
    const file = this.options.probeFile;
    if (file === undefined) return;
    const fd = openSync(file, 'w', 0o600);
    try {
      writeSync(fd, PROBE_BYTES);
    } finally {
      closeSync(fd);
      unlinkSync(file);
    }
  }

  createWorkspace(workspace: Workspace): void {
    try {
      this.sql('INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)').run(workspace.id, workspace.name, workspace.createdAt);
    } catch (error) {
      throw conflictOr(error, `Workspace "${workspace.id}" already exists`);
    }
  }

  createApiToken(token: ApiTokenRecord): void {
    this.sql('INSERT INTO api_tokens (id, name, role, workspace_id, digest, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
      token.id, token.name, token.role, token.workspaceId, token.digestHex, token.createdAt, token.revokedAt,
    );
  }

  revokeApiToken(args: { id: string; now: number }): boolean {
    const revoked = this.sql('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(args.now, args.id).changes > 0;
    if (revoked) this.sql('DELETE FROM sessions WHERE token_id = ?').run(args.id);
    return revoked;
  }

  createSession(session: SessionRecord): void {
    this.sql('DELETE FROM sessions WHERE expires_at <= ?').run(session.createdAt);
    this.sql(SESSION_INSERT_SQLITE).run(...sessionValues(session));
  }

  touchSession(args: { digestHex: string; now: number }): void {
    this.sql('UPDATE sessions SET last_seen_at = ? WHERE digest = ?').run(args.now, args.digestHex);
  }

  deleteSession(digestHex: string): boolean {
    return this.sql('DELETE FROM sessions WHERE digest = ?').run(digestHex).changes > 0;
  }

  endAdminSessions(_args: undefined): number {
    return this.sql('DELETE FROM sessions WHERE token_id IS NULL').run().changes;
  }

  appendAudit(record: AuditRecord): void {
    this.sql('INSERT INTO audit_log (id, at, actor_id, actor_name, action, workspace_id, target, source_ip, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
      record.id, record.at, record.actorId, record.actorName, record.action, record.workspaceId, record.target, record.sourceIp, JSON.stringify(record.details),
    );
  }

  createWorkflow(args: { workflow: WorkflowRecord; secrets: SecretRecord[] }): void {
    const { workflow } = args;
    const existing = this.sql('SELECT deleted_at FROM workflows WHERE workspace_id = ? AND id = ?').get(workflow.workspaceId, workflow.id) as
      | { deleted_at: number | null }
      | undefined;
    if (existing !== undefined && existing.deleted_at === null) {
      throw new HookflowError('HOOKFLOW_ERR_CONFLICT', `Workflow "${workflow.id}" already exists`);
    }
    // A new workflow under a used id starts clean: whatever the old one left (a workflow deleted
    // before migration 14, a webhook stored while it was being deleted) goes first.
    this.purgeWorkflow(workflow.workspaceId, workflow.id);
    this.sql('INSERT INTO workflows (workspace_id, id, latest_version, created_at) VALUES (?, ?, ?, ?)').run(workflow.workspaceId, workflow.id, workflow.version, workflow.createdAt);
    this.setClaimLimits(workflow);
    this.insertVersion(workflow);
    this.insertSecrets(args.secrets);
  }

  updateWorkflow(args: { workflow: WorkflowRecord; secrets: SecretRecord[]; replaceSecretPurposes: string[] }): void {
    const { workflow } = args;
    const current = this.sql('SELECT latest_version FROM workflows WHERE workspace_id = ? AND id = ? AND deleted_at IS NULL').get(workflow.workspaceId, workflow.id) as
      | { latest_version: number }
      | undefined;
    if (current === undefined) throw new HookflowError('HOOKFLOW_ERR_NOT_FOUND', `Workflow "${workflow.id}" not found`);
    workflow.version = current.latest_version + 1;
    this.sql('UPDATE workflows SET latest_version = ? WHERE workspace_id = ? AND id = ?').run(workflow.version, workflow.workspaceId, workflow.id);
    this.setClaimLimits(workflow);
    this.insertVersion(workflow);
    const deletePurpose = this.sql('DELETE FROM secrets WHERE workspace_id = ? AND workflow_id = ? AND purpose = ?');
    for (const purpose of args.replaceSecretPurposes) deletePurpose.run(workflow.workspaceId, workflow.id, purpose);
    this.insertSecrets(args.secrets);
  }

  /** The latest version's ordering limits, where the claim reads them. */
  private setClaimLimits(workflow: WorkflowRecord): void {
    const limits = claimLimitsOf(workflow.definition);
    this.sql('UPDATE workflows SET concurrency_limit = ?, max_concurrent_runs = ? WHERE workspace_id = ? AND id = ?').run(
      limits.concurrencyLimit, limits.maxConcurrentRuns, workflow.workspaceId, workflow.id,
    );
  }

  private insertVersion(workflow: WorkflowRecord): void {
    this.sql('INSERT INTO workflow_versions (workspace_id, workflow_id, version, name, enabled, definition, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
      workflow.workspaceId, workflow.id, workflow.version, workflow.name, workflow.enabled ? 1 : 0, JSON.stringify(workflow.definition), workflow.updatedAt,
    );
  }

  private insertSecrets(secrets: SecretRecord[]): void {
    const insert = this.sql('INSERT INTO secrets (id, workspace_id, workflow_id, purpose, ciphertext, created_at, expires_at, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    for (const s of secrets) insert.run(s.id, s.workspaceId, s.workflowId, s.purpose, s.ciphertext, s.createdAt, s.expiresAt, s.origin ?? null);
  }

  deleteWorkflow(args: { workspaceId: string; workflowId: string; now: number }): boolean {
    const live = this.sql('SELECT 1 FROM workflows WHERE workspace_id = ? AND id = ? AND deleted_at IS NULL').get(args.workspaceId, args.workflowId) !== undefined;
    if (live) this.purgeWorkflow(args.workspaceId, args.workflowId);
    return live;
  }

  /** Deletes everything a workflow id owns (WORKFLOW_OWNED_TABLES); the audit log keeps what was done to it. */
  private purgeWorkflow(workspaceId: string, workflowId: string): void {
    this.sql('DELETE FROM step_results WHERE run_id IN (SELECT id FROM runs WHERE workspace_id = ? AND workflow_id = ?)').run(workspaceId, workflowId);
    for (const statement of WORKFLOW_RULE_CHILDREN) this.sql(statement).run(workspaceId, workflowId);
    for (const [table, column] of WORKFLOW_OWNED_TABLES) this.sql(`DELETE FROM ${table} WHERE workspace_id = ? AND ${column} = ?`).run(workspaceId, workflowId);
  }

  rotateSecrets(args: { add: SecretRecord[]; expire: { id: string; expiresAt: number }[] }): void {
    const expire = this.sql('UPDATE secrets SET expires_at = ? WHERE id = ?');
    for (const e of args.expire) expire.run(e.expiresAt, e.id);
    this.insertSecrets(args.add);
  }

  reencryptSecrets(updates: { id: string; ciphertext: string }[]): void {
    const update = this.sql('UPDATE secrets SET ciphertext = ? WHERE id = ?');
    for (const u of updates) update.run(u.ciphertext, u.id);
  }

  claimSetting(args: { name: string; value: string }): string {
    this.sql('INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING').run(args.name, args.value);
    return (this.sql('SELECT value FROM settings WHERE name = ?').get(args.name) as { value: string }).value;
  }

  putSetting(args: { name: string; value: string }): void {
    this.sql('INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value').run(args.name, args.value);
  }

  /** The writer thread is the only writer, so read-then-write cannot race another put. */
  putWorkspaceSecret(secret: WorkspaceSecretRecord): { created: boolean; createdAt: number } {
    const existing = this.sql('SELECT created_at FROM workspace_secrets WHERE workspace_id = ? AND name = ?').get(secret.workspaceId, secret.name) as { created_at: number } | undefined;
    if (existing === undefined) {
      this.sql('INSERT INTO workspace_secrets (workspace_id, name, ciphertext, allowed_origins, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)').run(
        secret.workspaceId, secret.name, secret.ciphertext, JSON.stringify(secret.allowedOrigins), secret.createdAt, secret.updatedAt,
      );
      return { created: true, createdAt: secret.createdAt };
    }
    this.sql('UPDATE workspace_secrets SET ciphertext = ?, allowed_origins = ?, updated_at = ? WHERE workspace_id = ? AND name = ?').run(
      secret.ciphertext, JSON.stringify(secret.allowedOrigins), secret.updatedAt, secret.workspaceId, secret.name,
    );
    return { created: false, createdAt: existing.created_at };
  }

  deleteWorkspaceSecret(args: { workspaceId: string; name: string }): boolean {
    return this.sql('DELETE FROM workspace_secrets WHERE workspace_id = ? AND name = ?').run(args.workspaceId, args.name).changes > 0;
  }

  reencryptWorkspaceSecrets(updates: { workspaceId: string; name: string; ciphertext: string }[]): void {
    const update = this.sql('UPDATE workspace_secrets SET ciphertext = ? WHERE workspace_id = ? AND name = ?');
    for (const u of updates) update.run(u.ciphertext, u.workspaceId, u.name);
  }

  ingest(args: { record: IngestRecord; now: number }): IngestResult {
    const { event, run, idempotency } = args.record;
    if (idempotency !== null) {
      const seen = this.sql('SELECT event_id, run_id, expires_at FROM idempotency_keys WHERE workspace_id = ? AND workflow_id = ? AND key = ?').get(event.workspaceId, event.workflowId, idempotency.key) as
        | { event_id: string; run_id: string | null; expires_at: number }
        | undefined;
      if (seen !== undefined && seen.expires_at > args.now) return { duplicate: true, runId: seen.run_id, eventId: seen.event_id };
    }
    this.sql('INSERT INTO events (id, workspace_id, workflow_id, workflow_version, received_at, test, filtered, headers, body, meta, idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
      event.id, event.workspaceId, event.workflowId, event.workflowVersion, event.receivedAt, event.test ? 1 : 0, event.filtered === true ? 1 : 0,
      event.headersJson, event.bodyJson, event.metaJson, event.idempotencyKey,
    );
    if (run !== null) {
      this.sql("INSERT INTO runs (id, workspace_id, workflow_id, workflow_version, event_id, status, attempts, max_attempts, created_at, available_at, concurrency_key) VALUES (?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?)").run(
        run.id, event.workspaceId, event.workflowId, event.workflowVersion, event.id, run.maxAttempts, event.receivedAt, event.receivedAt, run.concurrencyKey ?? null,
      );
    }
    if (idempotency !== null) {
      this.sql('INSERT OR REPLACE INTO idempotency_keys (workspace_id, workflow_id, key, event_id, run_id, expires_at) VALUES (?, ?, ?, ?, ?, ?)').run(
        event.workspaceId, event.workflowId, idempotency.key, event.id, run?.id ?? null, idempotency.expiresAt,
      );
    }
    return { duplicate: false, eventId: event.id, runId: run?.id ?? null };
  }

  recordRejectedCall(record: RejectedCallRecord): void {
    this.sql('INSERT INTO rejected_calls (id, workspace_id, workflow_id, received_at, status, reason, source_ip, body_bytes, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
      record.id, record.workspaceId, record.workflowId, record.receivedAt, record.status, record.reason, record.sourceIp, record.bodyBytes, record.userAgent,
    );
  }

  addWebhookStats(rows: WebhookStatRow[]): void {
    const upsert = this.sql(
      'INSERT INTO webhook_stats (workspace_id, workflow_id, minute, outcome, status, latency_bucket, count) VALUES (?, ?, ?, ?, ?, ?, ?) ' +
        'ON CONFLICT (workspace_id, workflow_id, minute, outcome, status, latency_bucket) DO UPDATE SET count = count + excluded.count',
    );
    for (const row of rows) upsert.run(row.workspaceId, row.workflowId, row.minute, row.outcome, row.status, row.latencyBucket, row.count);
  }

  replayRun(args: { workspaceId: string; runId: string; newRunId: string; now: number }): RunRecord | null {
    const original = this.sql('SELECT * FROM runs WHERE workspace_id = ? AND id = ?').get(args.workspaceId, args.runId) as RunRow | undefined;
    if (original === undefined) return null;
    const latest = this.sql('SELECT latest_version FROM workflows WHERE workspace_id = ? AND id = ? AND deleted_at IS NULL').get(original.workspace_id, original.workflow_id) as { latest_version: number } | undefined;
    if (latest === undefined) return null;
    // A replay keeps the event's key and queues behind the runs of that key that arrived before it.
    this.sql("INSERT INTO runs (id, workspace_id, workflow_id, workflow_version, event_id, status, attempts, max_attempts, created_at, available_at, replay_of, concurrency_key) VALUES (?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?, ?)").run(
      args.newRunId, original.workspace_id, original.workflow_id, latest.latest_version, original.event_id, original.max_attempts, args.now, args.now, original.id, original.concurrency_key ?? null,
    );
    return toRun(this.sql('SELECT * FROM runs WHERE id = ?').get(args.newRunId) as RunRow);
  }

  addLlmUsage(args: { workspaceId: string; workflowId: string; day: string; tokens: number }): void {
    this.sql('INSERT INTO llm_usage (workspace_id, workflow_id, day, tokens) VALUES (?, ?, ?, ?) ON CONFLICT (workspace_id, workflow_id, day) DO UPDATE SET tokens = tokens + excluded.tokens').run(
      args.workspaceId, args.workflowId, args.day, args.tokens,
    );
  }

  saveJob(job: JobRecord): void {
    this.sql(`INSERT INTO jobs (${JOB_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(...jobValues(job));
  }

  updateJobProgress(args: { id: string; done: number; failed: number; lastError: string | null; status: JobRecord['status']; now: number }): boolean {
    return this.sql("UPDATE jobs SET done = ?, failed = ?, last_error = ?, status = ?, updated_at = ?, finished_at = CASE WHEN ? = 'running' THEN NULL ELSE ? END WHERE id = ? AND status = 'running'").run(
      args.done, args.failed, args.lastError, args.status, args.now, args.status, args.now, args.id,
    ).changes > 0;
  }

  cancelJob(args: { workspaceId: string; id: string; now: number }): boolean {
    return this.sql("UPDATE jobs SET status = 'cancelled', updated_at = ?, finished_at = ? WHERE workspace_id = ? AND id = ? AND status = 'running'").run(args.now, args.now, args.workspaceId, args.id).changes > 0;
  }

  /** See `Store.saveTestRun`. `values` are `testRunValues(record)`: serialised here would be too late (a structured clone loses exact numbers). */
  saveTestRun(args: { values: unknown[]; workspaceId: string; workflowId: string; keep: number }): void {
    this.sql(`INSERT INTO test_runs (${TEST_RUN_LIST_COLUMNS}, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(...args.values);
    this.sql('DELETE FROM test_runs WHERE id IN (SELECT id FROM test_runs WHERE workspace_id = ? AND workflow_id = ? ORDER BY created_at DESC, id DESC LIMIT -1 OFFSET ?)').run(
      args.workspaceId, args.workflowId, args.keep,
    );
  }

  resumeRun(args: { workspaceId: string; runId: string; latestVersion: boolean; now: number }): RunRecord | null {
    const run = this.sql('SELECT * FROM runs WHERE workspace_id = ? AND id = ?').get(args.workspaceId, args.runId) as RunRow | undefined;
    if (run === undefined) return null;
    // As on PostgreSQL: no latest version to resume on (workflow deleted) is "not found", before the status is looked at.
    let version = run.workflow_version;
    if (args.latestVersion) {
      const latest = this.sql('SELECT latest_version FROM workflows WHERE workspace_id = ? AND id = ? AND deleted_at IS NULL').get(run.workspace_id, run.workflow_id) as { latest_version: number } | undefined;
      if (latest === undefined) return null;
      version = latest.latest_version;
    }
    if (run.status !== 'failed') throw new HookflowError('HOOKFLOW_ERR_CONFLICT', `Run "${args.runId}" is ${run.status}: only a failed run can be resumed`);
    this.sql("UPDATE runs SET status = 'queued', available_at = ?, finished_at = NULL, max_attempts = attempts + max_attempts, workflow_version = ? WHERE id = ? AND status = 'failed'").run(args.now, version, run.id);
    return toRun(this.sql('SELECT * FROM runs WHERE id = ?').get(run.id) as RunRow);
  }

  /**
   * Leases up to `limit` due runs to `workerId`. Only the lease is written here; the main
   * thread reads each run's event and workflow afterwards, keeping the write transaction short.
   */
  claimRuns(args: { workerId: string; limit: number; leaseMs: number; now: number; sentAt?: number }): RunRecord[] {
    this.recoverExpiredLeases(args.now);
    const due = claimableRuns((text) => this.sql(text), args.now, args.limit);
    // A run held to its key or cap starts at `now` plus the time the call waited in the writer's
    // queue: one that waited behind a run completed meanwhile must not appear to start before it.
    const orderedNow = args.now + Math.max(0, Date.now() - (args.sentAt ?? Date.now()));
    const claim = this.sql("UPDATE runs SET status = 'running', attempts = attempts + 1, lease_owner = ?, lease_expires_at = ?, started_at = COALESCE(started_at, ?) WHERE id = ? AND status = 'queued' RETURNING *");
    const claimed: RunRecord[] = [];
    for (const { id, constrained } of due) {
      const at = constrained ? orderedNow : args.now;
      const row = claim.get(args.workerId, at + args.leaseMs, at, id) as RunRow | undefined;
      if (row !== undefined) claimed.push(toRun(row));
    }
    return claimed;
  }

  /** A lapsed lease means its worker died: give the run another attempt, or dead-letter it. */
  private recoverExpiredLeases(now: number): void {
    this.sql("UPDATE runs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, available_at = ? WHERE status = 'running' AND lease_expires_at < ? AND attempts < max_attempts").run(now, now);
    this.sql("UPDATE runs SET status = 'failed', lease_owner = NULL, lease_expires_at = NULL, finished_at = ?, last_error = COALESCE(last_error, 'Worker lost its lease on the last attempt') WHERE status = 'running' AND lease_expires_at < ? AND attempts >= max_attempts").run(now, now);
  }

  private owns(ref: AttemptRef): boolean {
    return this.sql("SELECT 1 FROM runs WHERE id = ? AND attempts = ? AND lease_owner = ? AND status = 'running'").get(ref.runId, ref.attempt, ref.workerId) !== undefined;
  }

  heartbeat(args: { ref: AttemptRef; leaseExpiresAt: number }): boolean {
    const { ref } = args;
    return this.sql("UPDATE runs SET lease_expires_at = ? WHERE id = ? AND attempts = ? AND lease_owner = ? AND status = 'running'").run(args.leaseExpiresAt, ref.runId, ref.attempt, ref.workerId).changes > 0;
  }

  checkpointStep(args: { ref: AttemptRef; step: SerializedStep }): boolean {
    if (!this.owns(args.ref)) return false;
    const s = args.step;
    this.sql(CHECKPOINT_SQL).run(
      args.ref.runId, s.stepId, s.stepIndex, s.type, s.attempt, s.status, s.startedAt, s.finishedAt, s.output, s.memoryWrites, s.error, s.logs, s.usage,
      s.condition == null ? null : JSON.stringify(s.condition), s.continued === true ? 1 : 0,
    );
    return true;
  }

  completeRun(args: { ref: AttemptRef; now: number; finalStep?: SerializedStep | undefined }): boolean {
    const { ref } = args;
    if (args.finalStep !== undefined && !this.checkpointStep({ ref, step: args.finalStep })) return false;
    return this.sql("UPDATE runs SET status = 'succeeded', finished_at = ?, lease_owner = NULL, lease_expires_at = NULL, last_error = NULL WHERE id = ? AND attempts = ? AND lease_owner = ? AND status = 'running'").run(args.now, ref.runId, ref.attempt, ref.workerId).changes > 0;
  }

  failRun(args: { ref: AttemptRef; error: string; retryAt: number | null; now: number }): boolean {
    const { ref } = args;
    const fenced = 'WHERE id = ? AND attempts = ? AND lease_owner = ? AND status = \'running\'';
    if (args.retryAt !== null) {
      return this.sql(`UPDATE runs SET status = 'queued', available_at = ?, lease_owner = NULL, lease_expires_at = NULL, last_error = ? ${fenced}`).run(args.retryAt, args.error, ref.runId, ref.attempt, ref.workerId).changes > 0;
    }
    return this.sql(`UPDATE runs SET status = 'failed', finished_at = ?, lease_owner = NULL, lease_expires_at = NULL, last_error = ? ${fenced}`).run(args.now, args.error, ref.runId, ref.attempt, ref.workerId).changes > 0;
  }

  releaseRun(ref: AttemptRef): boolean {
    return this.sql("UPDATE runs SET status = 'queued', attempts = attempts - 1, lease_owner = NULL, lease_expires_at = NULL WHERE id = ? AND attempts = ? AND lease_owner = ? AND status = 'running'").run(ref.runId, ref.attempt, ref.workerId).changes > 0;
  }

  prune(args: { before: number; now: number }): { runs: number; events: number } {
    const { before } = args;
    this.sql("DELETE FROM step_results WHERE run_id IN (SELECT id FROM runs WHERE status IN ('succeeded','failed') AND created_at < ?)").run(before);
    const runs = this.sql("DELETE FROM runs WHERE status IN ('succeeded','failed') AND created_at < ?").run(before).changes;
    const events = this.sql('DELETE FROM events WHERE received_at < ? AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.event_id = events.id)').run(before).changes;
    this.sql('DELETE FROM rejected_calls WHERE received_at < ?').run(before);
    this.sql('DELETE FROM webhook_stats WHERE minute < ?').run(before);
    this.sql('DELETE FROM test_runs WHERE created_at < ?').run(before);
    this.sql('DELETE FROM alert_deliveries WHERE history_id IN (SELECT id FROM alert_history WHERE at < ?)').run(before);
    this.sql('DELETE FROM alert_history WHERE at < ?').run(before);
    this.sql('DELETE FROM idempotency_keys WHERE expires_at < ?').run(args.now);
    return { runs, events };
  }

  // Alert writes (sqlite-alert-writes.ts): methods here, so the writer thread can name them.
  createAlertChannel(channel: AlertChannelRecord): void { this.alerts.createAlertChannel(channel); }
  reencryptAlertChannels(updates: { workspaceId: string; id: string; secretCiphertext: string }[]): void { this.alerts.reencryptAlertChannels(updates); }
  deleteAlertChannel(args: { workspaceId: string; id: string }): boolean { return this.alerts.deleteAlertChannel(args); }
  putAlertRule(rule: AlertRuleRecord): void { this.alerts.putAlertRule(rule); }
  deleteAlertRule(args: { workspaceId: string; id: string }): boolean { return this.alerts.deleteAlertRule(args); }
  clearAlertState(args: { workspaceId: string; ruleId: string }): void { this.alerts.clearAlertState(args); }
  transitionAlert(transition: AlertTransition): boolean { return this.alerts.transitionAlert(transition); }
  claimAlertDelivery(args: { id: string; now: number; until: number }): boolean { return this.alerts.claimAlertDelivery(args); }
  recordAlertDelivery(update: AlertDeliveryUpdate): void { this.alerts.recordAlertDelivery(update); }
  acquireAlertLease(args: { owner: string; now: number; ttlMs: number }): boolean { return this.alerts.acquireAlertLease(args); }
  releaseAlertLease(owner: string): void { this.alerts.releaseAlertLease(owner); }
}

/** What the space probe writes: enough for a few pages, so a nearly full disk shows too. */
const PROBE_BYTES = Buffer.alloc(64 * 1024);

function conflictOr(error: unknown, message: string): unknown {
  if (error instanceof Error && (error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return new HookflowError('HOOKFLOW_ERR_CONFLICT', message, { cause: error });
  }
  return error;
}
