import { parseExactJson, stringifyExactJson } from '../util/exact-json.js';
import type {
  ApiTokenRecord, AuditRecord, EventRecord, JobRecord, RejectedCallRecord, RunRecord, RunStatus, SecretRecord, SessionRecord, StepAttempt, StepCondition, StepResultRecord,
  StepStatus, TestRunRecord, TokenRole, WebhookStatRow, WorkflowRecord, Workspace, WorkspaceSecretRecord,
} from './store.js';

/*
 * Row shapes as both stores return them, and their mapping to the contract's records. Both
 * schemas use the same column names; the one difference is booleans, which SQLite returns as
 * 0/1 and PostgreSQL as true/false (BIGINT columns come back as numbers from both: see the
 * PostgreSQL pool's type parsers).
 */

/** A boolean column: 0/1 from SQLite, true/false from PostgreSQL. */
type BooleanColumn = boolean | number;
const truthy = (value: BooleanColumn): boolean => value === true || value === 1;

/** A `workspaces` row. */
export interface WorkspaceRow { id: string; name: string; created_at: number }
/** A workflow version joined with its workflow (see WORKFLOW_SELECT). */
export interface WorkflowRow {
  workspace_id: string; workflow_id: string; version: number; name: string; enabled: BooleanColumn;
  definition: string; created_at: number; updated_at: number;
}
/** A `secrets` row. */
export interface SecretRow {
  id: string; workspace_id: string; workflow_id: string; purpose: string; ciphertext: string;
  created_at: number; expires_at: number | null; origin: string | null;
}
/** A `workspace_secrets` row (`allowed_origins` is a JSON array). */
export interface WorkspaceSecretRow {
  workspace_id: string; name: string; ciphertext: string; allowed_origins: string; created_at: number; updated_at: number;
}
/** An `events` row. */
export interface EventRow {
  id: string; workspace_id: string; workflow_id: string; workflow_version: number; received_at: number;
  test: BooleanColumn; filtered: BooleanColumn; headers: string; body: string; meta: string; idempotency_key: string | null;
}
/** A `runs` row. */
export interface RunRow {
  id: string; workspace_id: string; workflow_id: string; workflow_version: number; event_id: string;
  status: RunStatus; attempts: number; max_attempts: number; created_at: number; available_at: number;
  started_at: number | null; finished_at: number | null; lease_owner: string | null;
  lease_expires_at: number | null; last_error: string | null; replay_of: string | null;
  /** Migration 14; absent from rows read before it. */
  concurrency_key?: string | null;
}
/** A `step_results` row. */
export interface StepRow {
  run_id: string; step_id: string; step_index: number; type: string; attempt: number; status: StepStatus;
  started_at: number; finished_at: number; output: string; memory_writes: string; error: string | null;
  logs: string; usage: string | null; earlier_attempts?: string; condition: string | null; continued: BooleanColumn;
}
/** A `rejected_calls` row. */
export interface RejectedRow {
  id: string; workspace_id: string; workflow_id: string; received_at: number; status: number;
  reason: string; source_ip: string; body_bytes: number | null; user_agent: string | null;
}

/** A `webhook_stats` row (summed: `count` may come back as a string from PostgreSQL's SUM). */
export interface WebhookStatDbRow {
  workspace_id: string; workflow_id: string; minute: number; outcome: string; status: number; latency_bucket: number; count: number | string;
}

/** Maps a webhook_stats row. */
export const toWebhookStat = (row: WebhookStatDbRow): WebhookStatRow => ({
  workspaceId: row.workspace_id,
  workflowId: row.workflow_id,
  minute: Number(row.minute),
  outcome: row.outcome,
  status: row.status,
  latencyBucket: row.latency_bucket,
  count: Number(row.count),
});

/** Maps a workspaces row. */
export const toWorkspace = (row: WorkspaceRow): Workspace => ({ id: row.id, name: row.name, createdAt: row.created_at });

/** Maps a workflow version row; `definition` is parsed. */
export const toWorkflow = (row: WorkflowRow): WorkflowRecord => ({
  workspaceId: row.workspace_id,
  id: row.workflow_id,
  version: row.version,
  name: row.name,
  enabled: truthy(row.enabled),
  definition: JSON.parse(row.definition) as unknown,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/** Maps a workspace_secrets row. */
export const toWorkspaceSecret = (row: WorkspaceSecretRow): WorkspaceSecretRecord => ({
  workspaceId: row.workspace_id,
  name: row.name,
  ciphertext: row.ciphertext,
  allowedOrigins: JSON.parse(row.allowed_origins) as string[],
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/** Maps a secrets row. */
export const toSecret = (row: SecretRow): SecretRecord => ({
  id: row.id,
  workspaceId: row.workspace_id,
  workflowId: row.workflow_id,
  purpose: row.purpose,
  ciphertext: row.ciphertext,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  origin: row.origin,
});

/** Maps an events row; headers, body and meta are parsed. */
export const toEvent = (row: EventRow): EventRecord => ({
  id: row.id,
  workspaceId: row.workspace_id,
  workflowId: row.workflow_id,
  workflowVersion: row.workflow_version,
  receivedAt: row.received_at,
  test: truthy(row.test),
  headers: JSON.parse(row.headers) as Record<string, string>,
  // Exact: an order id beyond 2^53 keeps its digits (docs/numbers.md).
  body: parseExactJson(row.body),
  meta: JSON.parse(row.meta) as Record<string, unknown>,
  idempotencyKey: row.idempotency_key,
  // Only set when true, like the other optional marks below: most events and steps have none.
  ...(truthy(row.filtered) ? { filtered: true } : {}),
});

/** Maps a runs row. */
export const toRun = (row: RunRow): RunRecord => ({
  id: row.id,
  workspaceId: row.workspace_id,
  workflowId: row.workflow_id,
  workflowVersion: row.workflow_version,
  eventId: row.event_id,
  status: row.status,
  attempts: row.attempts,
  maxAttempts: row.max_attempts,
  createdAt: row.created_at,
  availableAt: row.available_at,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
  leaseOwner: row.lease_owner,
  leaseExpiresAt: row.lease_expires_at,
  lastError: row.last_error,
  replayOf: row.replay_of,
  ...(row.concurrency_key == null ? {} : { concurrencyKey: row.concurrency_key }),
});

/** Maps a step_results row; output, memory writes, logs and usage are parsed. */
export const toStepResult = (row: StepRow): StepResultRecord => ({
  runId: row.run_id,
  stepId: row.step_id,
  stepIndex: row.step_index,
  type: row.type,
  attempt: row.attempt,
  status: row.status,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
  output: parseExactJson(row.output),
  memoryWrites: parseExactJson(row.memory_writes) as Record<string, unknown>,
  error: row.error,
  logs: JSON.parse(row.logs) as string[],
  usage: row.usage === null ? null : (parseExactJson(row.usage) as Record<string, unknown>),
  earlierAttempts: row.earlier_attempts === undefined ? [] : (JSON.parse(row.earlier_attempts) as StepAttempt[]),
  ...(row.condition === null ? {} : { condition: JSON.parse(row.condition) as StepCondition }),
  ...(truthy(row.continued) ? { continued: true } : {}),
});

/** A `jobs` row. */
export interface JobRow {
  id: string; workspace_id: string; workflow_id: string; kind: string; status: string; options: string; run_ids: string;
  done: number; failed: number; last_error: string | null; created_at: number; updated_at: number; finished_at: number | null;
}

/** Maps a jobs row. */
export const toJob = (row: JobRow): JobRecord => ({
  id: row.id,
  workspaceId: row.workspace_id,
  workflowId: row.workflow_id,
  kind: row.kind as JobRecord['kind'],
  status: row.status as JobRecord['status'],
  options: JSON.parse(row.options) as Record<string, unknown>,
  runIds: JSON.parse(row.run_ids) as string[],
  done: row.done,
  failed: row.failed,
  lastError: row.last_error,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  finishedAt: row.finished_at,
});

/** A job as written: the columns of a jobs row, in JOB_COLUMNS order. */
export const JOB_COLUMNS = 'id, workspace_id, workflow_id, kind, status, options, run_ids, done, failed, last_error, created_at, updated_at, finished_at';
export const jobValues = (job: JobRecord): unknown[] => [
  job.id, job.workspaceId, job.workflowId, job.kind, job.status, JSON.stringify(job.options), JSON.stringify(job.runIds),
  job.done, job.failed, job.lastError, job.createdAt, job.updatedAt, job.finishedAt,
];

/** A `test_runs` row; `result` is absent from list queries (see TEST_RUN_LIST_COLUMNS). */
export interface TestRunRow {
  id: string; workspace_id: string; workflow_id: string; kind: string; mode: string; status: string;
  event_id: string | null; baseline_run_id: string | null; created_at: number; result?: string;
}

/** The columns a test-run list reads: everything but the (possibly large) result. */
export const TEST_RUN_LIST_COLUMNS = 'id, workspace_id, workflow_id, kind, mode, status, event_id, baseline_run_id, created_at';

/** Maps a test_runs row; the result is parsed with its numbers exact (null when not read). */
export const toTestRun = (row: TestRunRow): TestRunRecord => ({
  id: row.id,
  workspaceId: row.workspace_id,
  workflowId: row.workflow_id,
  kind: row.kind as TestRunRecord['kind'],
  mode: row.mode as TestRunRecord['mode'],
  status: row.status as TestRunRecord['status'],
  eventId: row.event_id,
  baselineRunId: row.baseline_run_id,
  createdAt: row.created_at,
  result: row.result === undefined ? null : parseExactJson(row.result),
});

/** A test run as written: the columns of a test_runs row in TEST_RUN_LIST_COLUMNS order, then the result (serialised, numbers exact). */
export const testRunValues = (record: TestRunRecord): unknown[] => [
  record.id, record.workspaceId, record.workflowId, record.kind, record.mode, record.status, record.eventId, record.baselineRunId, record.createdAt,
  stringifyExactJson(record.result ?? null),
];

/** A step result with its JSON columns serialised: what crosses to the SQLite writer thread (a structured clone would lose exact numbers). */
export interface SerializedStep extends Omit<StepResultRecord, 'output' | 'memoryWrites' | 'logs' | 'usage'> {
  output: string;
  memoryWrites: string;
  logs: string;
  usage: string | null;
}

/** Serialises a step's JSON columns, numbers exact. */
export const serializeStep = (step: StepResultRecord): SerializedStep => ({
  ...step,
  output: stringifyExactJson(step.output ?? null),
  memoryWrites: stringifyExactJson(step.memoryWrites),
  logs: JSON.stringify(step.logs),
  usage: step.usage === null ? null : stringifyExactJson(step.usage),
});

/** Maps a rejected_calls row. */
export const toRejectedCall = (row: RejectedRow): RejectedCallRecord => ({
  id: row.id,
  workspaceId: row.workspace_id,
  workflowId: row.workflow_id,
  receivedAt: row.received_at,
  status: row.status,
  reason: row.reason,
  sourceIp: row.source_ip,
  bodyBytes: row.body_bytes,
  userAgent: row.user_agent ?? null,
});

/** Workflow-version join used by every workflow read; callers add the version condition. */
export const WORKFLOW_SELECT = `
  SELECT v.workspace_id, v.workflow_id, v.version, v.name, v.enabled, v.definition,
         w.created_at, v.created_at AS updated_at
  FROM workflows w JOIN workflow_versions v
    ON v.workspace_id = w.workspace_id AND v.workflow_id = w.id`;


/** An `api_tokens` row. */
export interface ApiTokenRow {
  id: string; name: string; role: TokenRole; workspace_id: string | null; digest: string; created_at: number; revoked_at: number | null;
}
/** An `audit_log` row. */
export interface AuditRow {
  id: string; at: number; actor_id: string; actor_name: string; action: string; workspace_id: string | null;
  target: string; source_ip: string; details: string;
}

/** A `sessions` row. */
export interface SessionRow {
  digest: string; token_id: string | null; actor_id: string; actor_name: string; role: TokenRole; workspace_id: string | null;
  created_at: number; last_seen_at: number; expires_at: number;
}

/** Maps a sessions row. */
export const toSession = (row: SessionRow): SessionRecord => ({
  digestHex: row.digest, tokenId: row.token_id, actorId: row.actor_id, actorName: row.actor_name, role: row.role, workspaceId: row.workspace_id,
  createdAt: row.created_at, lastSeenAt: row.last_seen_at, expiresAt: row.expires_at,
});

/** Column order of SESSION_INSERT's values. */
export const sessionValues = (s: SessionRecord): unknown[] => [s.digestHex, s.tokenId, s.actorId, s.actorName, s.role, s.workspaceId, s.createdAt, s.lastSeenAt, s.expiresAt];

/** Maps an api_tokens row. */
export const toApiToken = (row: ApiTokenRow): ApiTokenRecord => ({
  id: row.id, name: row.name, role: row.role, workspaceId: row.workspace_id, digestHex: row.digest, createdAt: row.created_at, revokedAt: row.revoked_at,
});

/** Maps an audit_log row; `details` is parsed. */
export const toAudit = (row: AuditRow): AuditRecord => ({
  id: row.id, at: row.at, actorId: row.actor_id, actorName: row.actor_name, action: row.action, workspaceId: row.workspace_id,
  target: row.target, sourceIp: row.source_ip, details: JSON.parse(row.details) as Record<string, unknown>,
});
