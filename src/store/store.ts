/**
 * The persistence contract. `store/sqlite/` and `store/postgres/` implement it; nothing
 * outside `store/` knows which one it talks to. Every method is async so both adapters fit.
 * Times are epoch milliseconds. JSON columns travel as already-serialised strings on the write
 * path (the hot path serialises once) and as parsed values on the read path.
 */

import type { AlertStore } from './alert-store.js';
import type { PendingWrites, Readiness } from './readiness.js';

export type { PendingWrites, Readiness } from './readiness.js';

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed';
export const RUN_STATUSES: readonly RunStatus[] = ['queued', 'running', 'succeeded', 'failed'];

export interface Workspace {
  id: string;
  name: string;
  createdAt: number;
}

/** One version of a workflow. `definition` never holds secrets (see `SecretRecord`). */
export interface WorkflowRecord {
  workspaceId: string;
  id: string;
  version: number;
  name: string;
  enabled: boolean;
  definition: unknown;
  createdAt: number;
  updatedAt: number;
}

/**
 * An encrypted secret owned by a workflow: its shared key(s), signature secret(s), LLM API keys.
 * `purpose` says which; several rows of one purpose are valid at once during a rotation, each
 * until its `expiresAt` (null = no expiry).
 */
export interface SecretRecord {
  id: string;
  workspaceId: string;
  workflowId: string;
  purpose: string;
  ciphertext: string;
  createdAt: number;
  expiresAt: number | null;
  /**
   * The origin (`scheme://host[:port]`) the secret may be sent to; it is also part of the
   * ciphertext's associated data. Null or absent: a secret never sent out (shared keys,
   * signature secrets) or one stored before destinations were recorded (migration 4).
   */
  origin?: string | null;
}

/**
 * An encrypted secret owned by a workspace, referenced by steps as `{{secrets.NAME}}`.
 * `allowedOrigins` (normalised `scheme://host[:port]`) limits where it may be sent; empty means
 * anywhere. The ciphertext's associated data binds the workspace, the name and the origins.
 */
export interface WorkspaceSecretRecord {
  workspaceId: string;
  name: string;
  ciphertext: string;
  allowedOrigins: string[];
  createdAt: number;
  updatedAt: number;
}

/** What a webhook request leaves behind. Headers never hold the shared key. */
export interface EventRecord {
  id: string;
  workspaceId: string;
  workflowId: string;
  workflowVersion: number;
  receivedAt: number;
  test: boolean;
  /** Accepted, but the trigger's filter did not match: no run was started. Absent: false. */
  filtered?: boolean;
  headers: Record<string, string>;
  body: unknown;
  /** The `webhook` memory variable: method, query (without key), sourceIp, contentType, … */
  meta: Record<string, unknown>;
  idempotencyKey: string | null;
}

export interface RunRecord {
  id: string;
  workspaceId: string;
  workflowId: string;
  workflowVersion: number;
  eventId: string;
  status: RunStatus;
  /** Attempts started so far; the current attempt's number while running. */
  attempts: number;
  maxAttempts: number;
  createdAt: number;
  availableAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  lastError: string | null;
  replayOf: string | null;
  /** The run's `concurrency.key` value (docs/runs.md); absent when its workflow orders none. */
  concurrencyKey?: string;
}

export type StepStatus = 'succeeded' | 'failed' | 'skipped';

/** A step's `if` as evaluated: the expression and its value. */
export interface StepCondition {
  expression: string;
  value: unknown;
}

/** A finished step of a run, checkpointed before the next step starts. */
export interface StepResultRecord {
  runId: string;
  stepId: string;
  stepIndex: number;
  type: string;
  attempt: number;
  status: StepStatus;
  startedAt: number;
  finishedAt: number;
  output: unknown;
  /** Memory variables the step wrote (its `output` name and any `memory.save`). */
  memoryWrites: Record<string, unknown>;
  error: string | null;
  logs: string[];
  /** Step-specific figures, e.g. LLM token usage. */
  usage: Record<string, unknown> | null;
  /** The step's earlier attempts in this run, oldest first (read only: the store keeps them on each new attempt). */
  earlierAttempts?: StepAttempt[];
  /** The step's `if`, when it has one (a `skipped` step's value is false). */
  condition?: StepCondition | null;
  /** A failure that did not fail the run (`continueOnError`): finished, never retried. */
  continued?: boolean;
}

/** Counts of steps by status, every status present (a stats answer's `steps`). */
export function stepCounts(rows: readonly { status: string; n: number | string }[]): Record<StepStatus, number> {
  const counts: Record<StepStatus, number> = { succeeded: 0, failed: 0, skipped: 0 };
  for (const row of rows) if (row.status in counts) counts[row.status as StepStatus] = Number(row.n);
  return counts;
}

/** Whether a stored step is finished for good: a later attempt resumes after it instead of rerunning it. */
export function isFinishedStep(step: StepResultRecord): boolean {
  return step.status !== 'failed' || step.continued === true;
}

/** One earlier attempt of a step: what a retry or a resume replaced. */
export interface StepAttempt {
  attempt: number;
  status: StepStatus;
  startedAt: number;
  finishedAt: number;
  error: string | null;
}

/** One accepted webhook as the ingress hands it to the store: written in one transaction. */
export interface IngestRecord {
  event: {
    id: string;
    workspaceId: string;
    workflowId: string;
    workflowVersion: number;
    receivedAt: number;
    test: boolean;
    /** The trigger's filter did not match (no run; `run` is null). Default false. */
    filtered?: boolean;
    headersJson: string;
    bodyJson: string;
    metaJson: string;
    idempotencyKey: string | null;
  };
  /** Absent for test events, which start no run. */
  run: { id: string; maxAttempts: number; /** The workflow's `concurrency.key` value, if it has one. */ concurrencyKey?: string | null } | null;
  /** Deduplicate on this key until `expiresAt`. */
  idempotency: { key: string; expiresAt: number } | null;
}

export type IngestResult =
  | { duplicate: false; eventId: string; runId: string | null }
  | { duplicate: true; runId: string | null; eventId: string };

/** A call refused at the door, kept for monitoring; never its body or key. */
export interface RejectedCallRecord {
  id: string;
  workspaceId: string;
  workflowId: string;
  receivedAt: number;
  status: number;
  reason: string;
  sourceIp: string;
  bodyBytes: number | null;
  /** The caller's `User-Agent` (truncated), null when it sent none. */
  userAgent: string | null;
}

/**
 * Webhook calls of one workflow in one minute with one outcome, answer status and response-time
 * bucket (`telemetry/latency-buckets.ts`). Each node adds its counts; the store sums them.
 * `workflowId` is '' for calls to ids that name no workflow of the (existing) workspace.
 */
export interface WebhookStatRow {
  workspaceId: string;
  workflowId: string;
  /** Start of the minute, epoch ms. */
  minute: number;
  outcome: string;
  status: number;
  latencyBucket: number;
  count: number;
}

/** The queue as the metrics gauges show it. */
export interface QueueSnapshot {
  /** Runs with status `queued`. */
  depth: number;
  /** The earliest `availableAt` among queued runs already due at `now`; null when none is due. */
  oldestDueAt: number | null;
}

/**
 * A test run as stored (docs/test-runs.md): kept apart from runs, so it never shows among them
 * or counts in stats, metrics or alerts. `result` is the answer the API gave, steps and diffs
 * included, secrets already redacted.
 */
export interface TestRunRecord {
  id: string;
  workspaceId: string;
  workflowId: string;
  /** `single`: one event; `batch`: a draft replayed over the last stored events. */
  kind: 'single' | 'batch';
  mode: 'mock' | 'live';
  /** `failed` when a step failed (batch: when any event's replay failed). */
  status: 'succeeded' | 'failed';
  /** The event replayed (single); an inline event's made-up id is kept too, its event is not. Null for a batch. */
  eventId: string | null;
  baselineRunId: string | null;
  createdAt: number;
  result: unknown;
}

/** Roles of API tokens, least privileged first (see http/access-control.ts). */
export type TokenRole = 'viewer' | 'editor' | 'admin';
export const TOKEN_ROLES: readonly TokenRole[] = ['viewer', 'editor', 'admin'];

/** A management-API token. Only the SHA-256 of the token is stored (hex), never the token. */
export interface ApiTokenRecord {
  id: string;
  name: string;
  role: TokenRole;
  /** The one workspace the token may reach; null = every workspace. */
  workspaceId: string | null;
  digestHex: string;
  createdAt: number;
  revokedAt: number | null;
}

/**
 * A console session (http/session-routes.ts): the token it was opened with, by reference only.
 * Only the SHA-256 of the session id is stored (hex), never the id the cookie carries.
 */
export interface SessionRecord {
  digestHex: string;
  /** The API token it was opened with; null for the admin token. */
  tokenId: string | null;
  actorId: string;
  actorName: string;
  role: TokenRole;
  /** The one workspace the session may reach; null = every workspace. */
  workspaceId: string | null;
  createdAt: number;
  /** Last use, for the idle timeout (refreshed at most once a minute). */
  lastSeenAt: number;
  /** The absolute end of the session. */
  expiresAt: number;
}

/** One entry of the audit log: who changed or revealed what, when, from where. Never a secret value. */
export interface AuditRecord {
  id: string;
  at: number;
  /** `admin` (the admin token) or the API token's id. */
  actorId: string;
  /** `admin`, or the API token's name when it acted. */
  actorName: string;
  /** e.g. `workflow.update`, `workflow.key.reveal`, `token.create`. */
  action: string;
  /** The workspace concerned, when there is one (audit lists filter on it). */
  workspaceId: string | null;
  /** What was acted on: the request path without its query, e.g. `/api/workspaces/shop/workflows/orders`. */
  target: string;
  sourceIp: string;
  /** Small, secret-free facts: HTTP method and status, new version number. */
  details: Record<string, unknown>;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface PageRequest {
  limit: number;
  cursor?: string | undefined;
}

/** A run handed to a worker, with what it needs to run without another query. */
export interface ClaimedRun {
  run: RunRecord;
  event: EventRecord;
  workflow: WorkflowRecord;
  /** Steps already finished by earlier attempts (succeeded, skipped, or failed with `continued`): resume after them. */
  finishedSteps: StepResultRecord[];
}

/** Identifies one attempt of a run; every queue write is fenced by it. */
export interface AttemptRef {
  runId: string;
  attempt: number;
  workerId: string;
}

/** A bulk replay or resume of many runs, paced (queue/bulk-jobs.ts). */
export interface JobRecord {
  id: string;
  workspaceId: string;
  workflowId: string;
  kind: 'replay' | 'resume';
  status: 'running' | 'succeeded' | 'cancelled';
  /** What the job was asked: its filter, pace and (resume) version. */
  options: Record<string, unknown>;
  /** The runs it works through, chosen when it was created. */
  runIds: string[];
  /** Runs handled so far (replayed, resumed, or skipped as `failed`), in `runIds` order. */
  done: number;
  /** Of those, the ones that could not be replayed or resumed (no longer failed, deleted workflow). */
  failed: number;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

export interface Store {
  /** Which adapter this is, for logs and /readyz. */
  readonly kind: 'sqlite' | 'postgres';
  /** Commits a small real write (the readiness probe); throws when storage cannot take one. */
  ping(): Promise<void>;
  /** Whether a webhook could be committed now, and if not why (/readyz); never throws. */
  readiness(timeoutMs: number): Promise<Readiness>;
  /** The writer's backlog right now (admission control reads it). */
  pendingWrites(): PendingWrites;
  close(): Promise<void>;
  /** Built-in alerts: rules, channels, state, history, deliveries (alert-store.ts). */
  readonly alerts: AlertStore;

  createWorkspace(workspace: Workspace): Promise<void>;
  getWorkspace(id: string): Promise<Workspace | null>;
  listWorkspaces(page: PageRequest): Promise<Page<Workspace>>;

  /** Creates version 1, with its secrets, in one transaction. */
  createWorkflow(workflow: WorkflowRecord, secrets: SecretRecord[]): Promise<void>;
  /**
   * Adds a version. `replaceSecretPurposes` are the purposes whose old rows are deleted before
   * `secrets` are inserted (a PUT that sets a new LLM key replaces the old one).
   */
  updateWorkflow(workflow: WorkflowRecord, secrets: SecretRecord[], replaceSecretPurposes: string[]): Promise<void>;
  /** Latest version (or the given one); null when the workflow is unknown or deleted. */
  getWorkflow(workspaceId: string, workflowId: string, version?: number): Promise<WorkflowRecord | null>;
  listWorkflows(workspaceId: string, page: PageRequest): Promise<Page<WorkflowRecord>>;
  /**
   * Deletes the workflow and everything it owns: versions, secrets, runs and their steps, events,
   * idempotency keys, rejected calls, webhook stats, LLM usage, bulk jobs (store/workflow-owned.ts).
   * A workflow created later under the same id starts at version 1 with none of them.
   */
  deleteWorkflow(workspaceId: string, workflowId: string, now: number): Promise<boolean>;

  listSecrets(workspaceId: string, workflowId: string): Promise<SecretRecord[]>;
  /** Inserts `add` and sets `expire` rows' expiry, in one transaction (key rotation). */
  rotateSecrets(add: SecretRecord[], expire: { id: string; expiresAt: number }[]): Promise<void>;
  /** Every secret of every workflow (master-key rotation). */
  listAllSecrets(): Promise<SecretRecord[]>;
  /** Rewrites ciphertexts in one transaction (master-key rotation). */
  reencryptSecrets(updates: { id: string; ciphertext: string }[]): Promise<void>;
  /** A database-wide setting (`master_key_id`), or null when none was recorded. */
  getSetting(name: string): Promise<string | null>;
  /** Records `value` unless the setting exists; returns what is recorded (the first writer wins). */
  claimSetting(name: string, value: string): Promise<string>;
  /** Records `value`, replacing what was there (a master-key rotation). */
  putSetting(name: string, value: string): Promise<void>;

  /**
   * Creates or replaces a workspace secret (ciphertext and origins); a replaced one keeps its
   * `createdAt`. Resolves whether the row was created.
   */
  putWorkspaceSecret(secret: WorkspaceSecretRecord): Promise<{ created: boolean; createdAt: number }>;
  /** A workspace's secrets, newest first by (createdAt, name). */
  listWorkspaceSecrets(workspaceId: string, page: PageRequest): Promise<Page<WorkspaceSecretRecord>>;
  /** The named secrets of a workspace that exist (all of them when `names` is absent). */
  getWorkspaceSecrets(workspaceId: string, names?: readonly string[]): Promise<WorkspaceSecretRecord[]>;
  /** False when there was no such secret. */
  deleteWorkspaceSecret(workspaceId: string, name: string): Promise<boolean>;
  /** Every workspace secret (master-key rotation). */
  listAllWorkspaceSecrets(): Promise<WorkspaceSecretRecord[]>;
  /** Rewrites ciphertexts in one transaction (master-key rotation). */
  reencryptWorkspaceSecrets(updates: { workspaceId: string; name: string; ciphertext: string }[]): Promise<void>;

  /** The hot path: group-committed; resolves only after the commit is durable. */
  ingest(record: IngestRecord, now: number): Promise<IngestResult>;
  getEvent(workspaceId: string, eventId: string): Promise<EventRecord | null>;
  listEvents(workspaceId: string, workflowId: string, filter: { test?: boolean | undefined; filtered?: boolean | undefined }, page: PageRequest): Promise<Page<EventRecord>>;

  recordRejectedCall(record: RejectedCallRecord): Promise<void>;
  listRejectedCalls(workspaceId: string, workflowId: string, page: PageRequest): Promise<Page<RejectedCallRecord>>;

  getRun(workspaceId: string, runId: string): Promise<RunRecord | null>;
  listRuns(workspaceId: string, workflowId: string, filter: { status?: RunStatus | undefined }, page: PageRequest): Promise<Page<RunRecord>>;
  listStepResults(runId: string): Promise<StepResultRecord[]>;
  /** Queues a new run of an existing run's event, on the workflow's latest version. */
  replayRun(workspaceId: string, runId: string, newRunId: string, now: number): Promise<RunRecord | null>;
  /**
   * Puts a failed run back in the queue as a new attempt of the same run: its succeeded steps are
   * kept (the executor starts at the first step not succeeded), on the version it ran, or on the
   * workflow's latest version with `latestVersion`. It gets as many attempts again as it had.
   * Null when the run is unknown (or, with `latestVersion`, its workflow was deleted); CONFLICT
   * when it is not failed.
   */
  resumeRun(workspaceId: string, runId: string, options: { latestVersion: boolean; now: number }): Promise<RunRecord | null>;
  /**
   * Ids of a workflow's runs for a bulk job, oldest first, at most `limit`: with `status`, created
   * in [from, to], and with `notReplayed` only runs no other run is a replay of.
   */
  selectRuns(workspaceId: string, workflowId: string, filter: { status: RunStatus; from: number; to: number; notReplayed: boolean; limit: number }): Promise<string[]>;
  saveJob(job: JobRecord): Promise<void>;
  /** Records progress; false (nothing written) when the job is no longer running (cancelled). */
  updateJobProgress(id: string, progress: { done: number; failed: number; lastError: string | null; status: JobRecord['status']; now: number }): Promise<boolean>;
  /** Marks a running job cancelled; false when it was not running. */
  cancelJob(workspaceId: string, id: string, now: number): Promise<boolean>;
  getJob(workspaceId: string, id: string): Promise<JobRecord | null>;
  listJobs(workspaceId: string, page: PageRequest): Promise<Page<JobRecord>>;
  /** Adds LLM tokens to a workflow's count for a UTC day (`YYYY-MM-DD`). */
  addLlmUsage(workspaceId: string, workflowId: string, day: string, tokens: number): Promise<void>;
  /** LLM tokens a workflow used on a UTC day. */
  getLlmUsage(workspaceId: string, workflowId: string, day: string): Promise<number>;
  /** LLM tokens all of a workspace's workflows used on a UTC day (the workspace budget). */
  getWorkspaceLlmUsage(workspaceId: string, day: string): Promise<number>;
  /** Runs created at or after `since`, newest first, at most `limit` (the stats endpoint); `workflowId` null: the whole workspace. */
  listRunsSince(workspaceId: string, workflowId: string | null, since: number, limit: number): Promise<RunRecord[]>;
  /** Step results by status over the runs created at or after `since` (the stats endpoint). */
  countStepsSince(workspaceId: string, workflowId: string, since: number): Promise<Record<StepStatus, number>>;

  /** Adds counts to the stored webhook stats (rows with the same key are summed). */
  addWebhookStats(rows: WebhookStatRow[]): Promise<void>;
  /** Stored webhook stats of minutes starting at or after `since`; `workflowId` null: the whole workspace. */
  listWebhookStats(workspaceId: string, workflowId: string | null, since: number): Promise<WebhookStatRow[]>;
  /** Queue depth and the oldest due run, cheaply (the metrics scrape). */
  queueSnapshot(now: number): Promise<QueueSnapshot>;

  // --- test runs: apart from runs (never in stats) ---
  /** Stores a test run, then deletes the workflow's oldest beyond the newest `keep`, in one transaction. */
  saveTestRun(record: TestRunRecord, keep: number): Promise<void>;
  getTestRun(workspaceId: string, id: string): Promise<TestRunRecord | null>;
  /** A workflow's test runs, newest first; `result` is null in the list (read one for it). */
  listTestRuns(workspaceId: string, workflowId: string, page: PageRequest): Promise<Page<TestRunRecord>>;

  // --- access: API tokens and the audit log ---
  createApiToken(token: ApiTokenRecord): Promise<void>;
  getApiToken(id: string): Promise<ApiTokenRecord | null>;
  /** The token with this digest (revoked ones too: the caller checks `revokedAt`). */
  findApiTokenByDigest(digestHex: string): Promise<ApiTokenRecord | null>;
  /** Newest first; `workspaceId` narrows to the tokens of one workspace. */
  listApiTokens(filter: { workspaceId?: string | undefined }, page: PageRequest): Promise<Page<ApiTokenRecord>>;
  /** Marks the token revoked and ends its console sessions; false when it is unknown or already revoked. */
  revokeApiToken(id: string, now: number): Promise<boolean>;
  /** Stores a new console session (and drops sessions past their absolute expiry). */
  createSession(session: SessionRecord): Promise<void>;
  /** The session with this digest, or null. Expiry is the caller's to check. */
  findSessionByDigest(digestHex: string): Promise<SessionRecord | null>;
  /** Records a use of the session (idle timeout). */
  touchSession(digestHex: string, now: number): Promise<void>;
  /** Ends a session; false when there was none. */
  deleteSession(digestHex: string): Promise<boolean>;
  /** Ends every session opened with the admin token (its rotation); how many ended. */
  endAdminSessions(): Promise<number>;
  appendAudit(record: AuditRecord): Promise<void>;
  /** Newest first; `workspaceId` narrows to one workspace's entries. */
  listAudit(filter: { workspaceId?: string | undefined }, page: PageRequest): Promise<Page<AuditRecord>>;

  // --- queue (see queue/): every write below is fenced by the attempt ---
  /** Claims up to `limit` runs that are due, with a lease. Recovers expired leases first. */
  claimRuns(options: { workerId: string; limit: number; leaseMs: number; now: number }): Promise<ClaimedRun[]>;
  /** Extends the lease; false when the attempt no longer owns the run. */
  heartbeat(ref: AttemptRef, leaseExpiresAt: number): Promise<boolean>;
  /** Stores a finished step; false when the attempt no longer owns the run. */
  checkpointStep(ref: AttemptRef, step: StepResultRecord): Promise<boolean>;
  /**
   * Marks the run succeeded, storing `finalStep` (the last step's result) with it — one write
   * instead of a checkpoint and a completion. False when the attempt no longer owns the run.
   */
  completeRun(ref: AttemptRef, now: number, finalStep?: StepResultRecord): Promise<boolean>;
  /** Retry at `retryAt`, or dead-letter (`failed`) when it is null. */
  failRun(ref: AttemptRef, error: string, retryAt: number | null, now: number): Promise<boolean>;
  /** Gives the run back without using up the attempt (graceful shutdown). */
  releaseRun(ref: AttemptRef): Promise<boolean>;
  /** Deletes finished runs, their events and steps, test runs, old rejected calls and alert history, older than `before`. */
  prune(before: number, now: number): Promise<{ runs: number; events: number }>;
  /** The earliest time a queued run becomes due, for the worker's sleep; null if none. */
  nextDueAt(): Promise<number | null>;
  /**
   * Calls `listener` when another process queued runs (PostgreSQL LISTEN/NOTIFY), so idle
   * workers wake at once instead of at their next poll. Absent where there is no such signal
   * (SQLite: workers in `serve` are woken directly, other processes poll). Returns unsubscribe.
   */
  onRunQueued?(listener: () => void): () => void;
  /**
   * Calls `listener` when a workflow or its secrets changed through another process (PostgreSQL
   * LISTEN/NOTIFY), with null when changes may have been missed (forget every cached trigger).
   * Absent on SQLite: one process serves webhooks. Returns unsubscribe.
   */
  onWorkflowChanged?(listener: (change: { workspaceId: string; workflowId: string } | null) => void): () => void;
}
