import { z } from 'zod';
import { HookflowError } from '../errors/catalogue.js';
import { EGRESS_ENTRY_SYNTAX, parseCidr, parseEgressAllowEntry } from './cidr.js';
import { INGEST_BYTES_PER_BODY_BYTE } from '../util/memory-budget.js';
import { MAX_BODY_BYTES_CEILING } from './workflow-definition.js';

const intFrom = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/**
 * Which proxies to believe about the client's address (X-Forwarded-For): none (false), the
 * nearest N hops (true is 1), or the proxies at these addresses/CIDRs. Never "any": the left of
 * X-Forwarded-For is whatever the client wrote, only what our own proxies appended counts.
 */
export type TrustedProxies = false | number | string[];

const trustedProxies = z.string().transform((value, ctx): TrustedProxies => {
  const setting = value.trim().toLowerCase();
  if (setting === 'false' || setting === 'no' || setting === '0' || setting === '') return false;
  if (setting === 'true' || setting === 'yes') return 1;
  if (/^\d+$/.test(setting)) return Number(setting);
  const proxies = setting.split(',').map((part) => part.trim()).filter((part) => part.length > 0);
  if (proxies.every((proxy) => parseCidr(proxy, { allowBareAddress: true }) !== null)) return proxies;
  ctx.addIssue({ code: 'custom', message: 'must be false, true (one proxy hop), a number of proxy hops, or a comma-separated list of proxy addresses/CIDRs' });
  return z.NEVER;
});

const csv = z
  .string()
  .transform((value) => value.split(',').map((part) => part.trim()).filter((part) => part.length > 0));

/**
 * Every setting hookflow reads from the environment, with its default. The README's config
 * table mirrors this object row for row; `test/config.test.ts` checks they stay in step.
 */
const envSchema = z.object({
  /** Listen port; 0 picks a free one (the chosen port is logged). */
  PORT: intFrom(0, 65535).default(8080),
  /** Listen address. */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** Directory of the SQLite file and the generated master key. */
  HOOKFLOW_DATA_DIR: z.string().min(1).default('./data'),
  /** `postgres://…` switches storage to PostgreSQL; unset means SQLite in the data dir. */
  DATABASE_URL: z
    .string()
    .url()
    .refine((value) => /^postgres(ql)?:\/\//.test(value), 'must start with postgres://')
    .optional(),
  /** `redis://…`: rate limits shared by every node through this Redis; unset means per node. */
  REDIS_URL: z
    .string()
    .url()
    .refine((value) => /^rediss?:\/\//.test(value), 'must start with redis:// or rediss://')
    .optional(),
  /** Base64 of 32 bytes; encrypts secrets at rest. Generated into the data dir when unset. */
  HOOKFLOW_MASTER_KEY: z
    .string()
    .refine((value) => Buffer.from(value.trim(), 'base64').length === 32, 'must be base64 of exactly 32 bytes (e.g. `openssl rand -base64 32`)')
    .optional(),
  /** Bearer token of the management API. Generated and printed once when unset. */
  HOOKFLOW_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Base of the webhook URLs the API hands out. Default `http://HOST:PORT`. */
  HOOKFLOW_PUBLIC_URL: z
    .string()
    .url()
    .refine((value) => /^https?:\/\//i.test(value), 'must start with http:// or https://')
    .optional(),
  /** CIDRs or addresses, each with an optional port or port range, that HTTP/LLM steps may reach despite the SSRF guard. */
  HOOKFLOW_EGRESS_ALLOWLIST: csv
    .refine((entries) => entries.every((entry) => parseEgressAllowEntry(entry) !== null), `every entry must be ${EGRESS_ENTRY_SYNTAX}`)
    .default([]),
  /** SQLite `synchronous` pragma: FULL survives power loss, NORMAL only a process crash. */
  HOOKFLOW_SQLITE_SYNCHRONOUS: z.enum(['FULL', 'NORMAL', 'EXTRA']).default('FULL'),
  /** Where webhooks commit: `main` (the event loop commits, an async fdatasync before the 200) or `writer` (the writer thread). */
  HOOKFLOW_SQLITE_INGEST_PATH: z.enum(['main', 'writer']).default('main'),
  /** Main ingest path: webhooks between two WAL checkpoints (run on the writer thread); bounds the WAL's size. */
  HOOKFLOW_SQLITE_CHECKPOINT_ROWS: intFrom(1, 1_000_000).default(1000),
  /** How long a SQLite write waits for a lock before failing (→ 503), ms. */
  HOOKFLOW_SQLITE_BUSY_TIMEOUT_MS: intFrom(0).default(5000),
  /** Most writes committed in one group-commit transaction. */
  HOOKFLOW_COMMIT_MAX_BATCH: intFrom(1, 100_000).default(1000),
  /** Writes allowed to wait for a commit; past it ingest answers 503 at once. */
  HOOKFLOW_MAX_PENDING_WRITES: intFrom(1).default(20_000),
  /** A webhook whose commit has not finished within this answers 503, ms. */
  HOOKFLOW_WRITE_TIMEOUT_MS: intFrom(1).default(10_000),
  /** Default body limit per webhook (decoded size), bytes; a trigger may set its own. */
  HOOKFLOW_MAX_BODY_BYTES: intFrom(1, MAX_BODY_BYTES_CEILING).default(1_048_576),
  /** Idempotency keys are remembered this long, seconds. */
  HOOKFLOW_IDEMPOTENCY_TTL_SECONDS: intFrom(1).default(86_400),
  /** /readyz answers 503 when its probe write has not committed within this, ms. */
  HOOKFLOW_READY_TIMEOUT_MS: intFrom(1).default(2000),
  /** Retry-After sent with 503, seconds. */
  HOOKFLOW_RETRY_AFTER_SECONDS: intFrom(1).default(5),
  /** Workers per process (`serve` and `worker`); 0 disables in-process workers. */
  HOOKFLOW_WORKER_CONCURRENCY: intFrom(0, 1024).default(16),
  /** Threads that run script steps (off the event loop that answers webhooks). */
  HOOKFLOW_SCRIPT_THREADS: intFrom(1, 64).default(2),
  /** A script thread with nothing to run stops after this, ms (threads start on first use). */
  HOOKFLOW_SCRIPT_IDLE_MS: intFrom(1000, 86_400_000).default(60_000),
  /** A claimed run whose worker stops heartbeating is retried after this, ms. */
  HOOKFLOW_LEASE_MS: intFrom(1000).default(30_000),
  /** Default attempts per run before it is dead-lettered; a workflow may set its own. */
  HOOKFLOW_MAX_ATTEMPTS: intFrom(1, 100).default(5),
  /** Delay before the first retry of a failed run, ms; doubles per attempt (with jitter). */
  HOOKFLOW_RETRY_BASE_MS: intFrom(1).default(1000),
  /** Longest delay between retries, ms. */
  HOOKFLOW_RETRY_MAX_MS: intFrom(1).default(300_000),
  /** Default pace of bulk replay and resume jobs, runs per second (a job may ask for another). */
  HOOKFLOW_BULK_RATE_PER_SECOND: intFrom(1, 1000).default(10),
  /** A console session unused this long ends, minutes. */
  HOOKFLOW_SESSION_IDLE_MINUTES: intFrom(1, 10_080).default(30),
  /** A console session ends this long after sign-in however much it is used, hours. */
  HOOKFLOW_SESSION_MAX_HOURS: intFrom(1, 720).default(12),
  /** How often each live stream (`…/stream`, the console's inspector) reads the store, ms. */
  HOOKFLOW_STREAM_POLL_MS: intFrom(100, 60_000).default(1000),
  /** Most live streams open on one node at once; more are answered 503. */
  HOOKFLOW_MAX_STREAMS: intFrom(1, 10_000).default(200),
  /** Runs and events older than this are pruned, days; 0 keeps everything. */
  HOOKFLOW_RETENTION_DAYS: intFrom(0).default(30),
  /** Test runs kept per workflow (newest first); older ones are deleted as new ones are stored, and all are pruned with runs. */
  HOOKFLOW_TEST_RUNS_KEPT: intFrom(1, 10_000).default(100),
  /**
   * Deepest JSON nesting accepted in a webhook body (deeper is a 400), a definition (400), an
   * HTTP/LLM answer or a script result (the step fails). At most 1,000: Node's thread hand-over
   * overflows its stack near 4,000 levels.
   */
  HOOKFLOW_MAX_JSON_DEPTH: intFrom(1, 1000).default(64),
  /** Longest workspace secret value, bytes (UTF-8). */
  HOOKFLOW_SECRET_MAX_BYTES: intFrom(1, 1_048_576).default(16_384),
  /** Most allowed origins one workspace secret may list. */
  HOOKFLOW_SECRET_MAX_ORIGINS: intFrom(1, 1000).default(32),
  /** Calls per source IP per minute over all webhooks; 0 = no limit. Per process. */
  HOOKFLOW_RATE_LIMIT_PER_IP_PER_MINUTE: intFrom(0).default(0),
  /** Rejected calls recorded per workflow per minute (all are counted in metrics). */
  HOOKFLOW_REJECTED_LOG_PER_MINUTE: intFrom(0).default(60),
  /** How long a node trusts its cached trigger lookup, ms (bounds staleness across nodes). */
  HOOKFLOW_TRIGGER_CACHE_TTL_MS: intFrom(0).default(5000),
  /** Whole request (headers and body) must arrive within this, ms. */
  HOOKFLOW_REQUEST_TIMEOUT_MS: intFrom(1000).default(30_000),
  /** Request headers must arrive within this, ms (slowloris). */
  HOOKFLOW_HEADERS_TIMEOUT_MS: intFrom(500).default(10_000),
  /** Idle keep-alive connections are closed after this, ms. */
  HOOKFLOW_KEEPALIVE_TIMEOUT_MS: intFrom(100).default(5000),
  /** Most simultaneous connections; 0 = unlimited. */
  HOOKFLOW_MAX_CONNECTIONS: intFrom(0).default(10_000),
  /** Believe `X-Forwarded-For` for the source IP, as far as it was written by proxies you run. */
  HOOKFLOW_TRUST_PROXY: trustedProxies.default(false),
  /** Bytes in flight (bodies being read and run, answers being read) the process may hold. */
  HOOKFLOW_MEMORY_BUDGET_BYTES: intFrom(16 * 1024 * 1024).default(256 * 1024 * 1024),
  /** Mean event-loop delay past which new webhooks are answered 503 at once, ms; 0 = off. */
  HOOKFLOW_SHED_EVENT_LOOP_DELAY_MS: intFrom(0).default(1000),
  /** Writes waiting for a commit past which new webhooks are answered 503 at once; 0 = off. */
  HOOKFLOW_SHED_PENDING_WRITES: intFrom(0).default(5000),
  /** Port of a separate listener for /healthz, /readyz and /metrics; unset = none. */
  HOOKFLOW_OPS_PORT: intFrom(0, 65535).optional(),
  /** Connections the kernel may queue before they are accepted (capped by net.core.somaxconn). */
  HOOKFLOW_LISTEN_BACKLOG: intFrom(1, 65535).default(4096),
  /** Longest CEL expression (step `if`, `trigger.filter`), characters. */
  HOOKFLOW_EXPRESSION_MAX_LENGTH: intFrom(16, 1_000_000).default(4096),
  /** Deepest nesting of a CEL expression. */
  HOOKFLOW_EXPRESSION_MAX_DEPTH: intFrom(1, 1000).default(32),
  /** Most syntax-tree nodes in one CEL expression. */
  HOOKFLOW_EXPRESSION_MAX_NODES: intFrom(1, 1_000_000).default(1000),
  /** Work units one CEL evaluation may spend (nodes, list elements, 64-character string chunks). */
  HOOKFLOW_EXPRESSION_MAX_COST: intFrom(1).default(200_000),
  /** Wall-clock backstop of one CEL evaluation, ms. */
  HOOKFLOW_EXPRESSION_TIMEOUT_MS: intFrom(1, 60_000).default(100),
  /** Bearer token `/metrics` requires; unset = `/metrics` is open (bind it to a private address). */
  HOOKFLOW_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Most (workspace, workflow) label pairs on per-workflow metrics; beyond it they count under `(other)`. */
  HOOKFLOW_METRICS_MAX_WORKFLOWS: intFrom(1, 100_000).default(1000),
  /** How often each node adds its webhook counts and response times to the stored stats, ms. */
  HOOKFLOW_STATS_FLUSH_MS: intFrom(100, 600_000).default(10_000),
  /** How often the node holding the alert lease evaluates every alert rule and sends due notifications, ms. */
  HOOKFLOW_ALERTS_INTERVAL_MS: intFrom(100, 3_600_000).default(30_000),
  /** Attempts at delivering one alert notification before it is recorded as failed. */
  HOOKFLOW_ALERTS_DELIVERY_ATTEMPTS: intFrom(1, 50).default(6),
  /** Time one notification attempt may take (connect, send, answer), ms. */
  HOOKFLOW_ALERTS_DELIVERY_TIMEOUT_MS: intFrom(100, 120_000).default(10_000),
  /** Wait before the second attempt of a notification, doubled after each failure (with jitter), ms. */
  HOOKFLOW_ALERTS_RETRY_BASE_MS: intFrom(100, 3_600_000).default(30_000),
  /** Longest wait between two attempts of a notification, ms. */
  HOOKFLOW_ALERTS_RETRY_MAX_MS: intFrom(100, 86_400_000).default(1_800_000),
  /** Most alert rules one workspace may have. */
  HOOKFLOW_ALERTS_MAX_RULES: intFrom(1, 100_000).default(200),
  /** Most alert channels one workspace may have. */
  HOOKFLOW_ALERTS_MAX_CHANNELS: intFrom(1, 10_000).default(20),
  /** Log accepted webhook calls at info too (default: at debug; refused and failed calls always at info). */
  HOOKFLOW_LOG_ACCEPTED_WEBHOOKS: z.enum(['true', 'false']).transform((value) => value === 'true').default(false),
  /** pino log level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type EnvInput = z.input<typeof envSchema>;

/** The validated, frozen server configuration; built once at start and passed down. */
export interface ServerConfig {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  /** Redis for rate limits shared by every node; undefined: per node. */
  readonly redisUrl: string | undefined;
  /** Default pace of bulk replay and resume jobs, runs per second. */
  readonly bulkRatePerSecond: number;
  /** Console sessions (POST /api/session): idle and absolute lifetimes, ms. */
  readonly sessions: {
    readonly idleMs: number;
    readonly maxMs: number;
  };
  /** Live streams of workflow changes (GET …/stream). */
  readonly streams: {
    readonly pollMs: number;
    readonly max: number;
  };
  readonly masterKeyBase64: string | undefined;
  readonly adminToken: string | undefined;
  readonly publicUrl: string | undefined;
  readonly egressAllowlist: readonly string[];
  readonly sqlite: {
    readonly synchronous: 'FULL' | 'NORMAL' | 'EXTRA';
    readonly busyTimeoutMs: number;
    readonly ingestPath: 'main' | 'writer';
    readonly checkpointEveryRows: number;
  };
  readonly commit: {
    readonly maxBatch: number;
    readonly maxPending: number;
    readonly timeoutMs: number;
  };
  readonly ingress: {
    readonly maxBodyBytes: number;
    readonly idempotencyTtlSeconds: number;
    readonly retryAfterSeconds: number;
    readonly trustProxy: TrustedProxies;
    readonly maxJsonDepth: number;
    readonly perIpPerMinute: number;
    readonly rejectedLogPerMinute: number;
    readonly triggerCacheTtlMs: number;
  };
  readonly http: {
    readonly requestTimeoutMs: number;
    readonly headersTimeoutMs: number;
    readonly keepAliveTimeoutMs: number;
    readonly maxConnections: number;
  };
  readonly workers: {
    readonly concurrency: number;
    readonly scriptThreads: number;
    readonly scriptIdleMs: number;
    readonly leaseMs: number;
    readonly maxAttempts: number;
    readonly retryBaseMs: number;
    readonly retryMaxMs: number;
  };
  readonly telemetry: {
    readonly metricsToken: string | undefined;
    readonly metricsMaxWorkflows: number;
    readonly statsFlushMs: number;
    readonly logAcceptedWebhooks: boolean;
  };
  readonly retentionDays: number;
  /** Test runs kept per workflow (docs/test-runs.md). */
  readonly testRunsKept: number;
  /** Built-in alerts (src/alerts/): evaluation interval and notification delivery. */
  readonly alerts: {
    readonly intervalMs: number;
    readonly deliveryAttempts: number;
    readonly deliveryTimeoutMs: number;
    readonly retryBaseMs: number;
    readonly retryMaxMs: number;
    readonly maxRulesPerWorkspace: number;
    readonly maxChannelsPerWorkspace: number;
  };
  /** Limits of workspace secrets (PUT /api/workspaces/:ws/secrets/:name). */
  readonly workspaceSecrets: {
    readonly maxValueBytes: number;
    readonly maxAllowedOrigins: number;
  };
  readonly readyTimeoutMs: number;
  /** Limits of CEL expressions (engine/expressions/cel-engine.ts `ExpressionLimits`). */
  readonly expressions: {
    readonly maxLength: number;
    readonly maxDepth: number;
    readonly maxNodes: number;
    readonly maxCost: number;
    readonly timeoutMs: number;
  };
  readonly logLevel: string;
  readonly pressure: {
    readonly memoryBudgetBytes: number;
    readonly shedEventLoopDelayMs: number;
    readonly shedPendingWrites: number;
    readonly opsPort: number | undefined;
    readonly listenBacklog: number;
  };
}

/** The env var names hookflow reads, in the order of the README table. */
export const CONFIG_ENV_VARS = Object.keys(envSchema.shape) as (keyof typeof envSchema.shape)[];

/**
 * Parses the environment once. A bad value stops the start with every problem listed — never
 * a silent fallback to a default.
 */
export function loadServerConfig(env: Readonly<Record<string, string | undefined>>): ServerConfig {
  const picked: Record<string, string> = {};
  for (const name of CONFIG_ENV_VARS) {
    const value = env[name];
    if (value !== undefined && value !== '') picked[name] = value;
  }
  const parsed = envSchema.safeParse(picked);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new HookflowError('HOOKFLOW_ERR_CONFIG', `Invalid configuration:\n  ${problems.join('\n  ')}`, {
      details: problems,
    });
  }
  const e = parsed.data;
  if (e.HOOKFLOW_MAX_BODY_BYTES * INGEST_BYTES_PER_BODY_BYTE > e.HOOKFLOW_MEMORY_BUDGET_BYTES) {
    // Such a body could never be admitted: every one would be a 503, never a 200.
    const problem = `HOOKFLOW_MAX_BODY_BYTES: must be at most HOOKFLOW_MEMORY_BUDGET_BYTES / ${INGEST_BYTES_PER_BODY_BYTE} (${Math.floor(e.HOOKFLOW_MEMORY_BUDGET_BYTES / INGEST_BYTES_PER_BODY_BYTE)}): a body is held about ${INGEST_BYTES_PER_BODY_BYTE}× while it is received and stored`;
    throw new HookflowError('HOOKFLOW_ERR_CONFIG', `Invalid configuration:\n  ${problem}`, { details: [problem] });
  }
  return deepFreeze({
    port: e.PORT,
    host: e.HOST,
    dataDir: e.HOOKFLOW_DATA_DIR,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    masterKeyBase64: e.HOOKFLOW_MASTER_KEY,
    adminToken: e.HOOKFLOW_ADMIN_TOKEN,
    publicUrl: e.HOOKFLOW_PUBLIC_URL?.replace(/\/+$/, ''),
    egressAllowlist: e.HOOKFLOW_EGRESS_ALLOWLIST,
    sqlite: { synchronous: e.HOOKFLOW_SQLITE_SYNCHRONOUS, busyTimeoutMs: e.HOOKFLOW_SQLITE_BUSY_TIMEOUT_MS, ingestPath: e.HOOKFLOW_SQLITE_INGEST_PATH, checkpointEveryRows: e.HOOKFLOW_SQLITE_CHECKPOINT_ROWS },
    commit: {
      maxBatch: e.HOOKFLOW_COMMIT_MAX_BATCH,
      maxPending: e.HOOKFLOW_MAX_PENDING_WRITES,
      timeoutMs: e.HOOKFLOW_WRITE_TIMEOUT_MS,
    },
    ingress: {
      maxBodyBytes: e.HOOKFLOW_MAX_BODY_BYTES,
      idempotencyTtlSeconds: e.HOOKFLOW_IDEMPOTENCY_TTL_SECONDS,
      retryAfterSeconds: e.HOOKFLOW_RETRY_AFTER_SECONDS,
      trustProxy: e.HOOKFLOW_TRUST_PROXY,
      maxJsonDepth: e.HOOKFLOW_MAX_JSON_DEPTH,
      perIpPerMinute: e.HOOKFLOW_RATE_LIMIT_PER_IP_PER_MINUTE,
      rejectedLogPerMinute: e.HOOKFLOW_REJECTED_LOG_PER_MINUTE,
      triggerCacheTtlMs: e.HOOKFLOW_TRIGGER_CACHE_TTL_MS,
    },
    http: {
      requestTimeoutMs: e.HOOKFLOW_REQUEST_TIMEOUT_MS,
      headersTimeoutMs: e.HOOKFLOW_HEADERS_TIMEOUT_MS,
      keepAliveTimeoutMs: e.HOOKFLOW_KEEPALIVE_TIMEOUT_MS,
      maxConnections: e.HOOKFLOW_MAX_CONNECTIONS,
    },
    workers: {
      concurrency: e.HOOKFLOW_WORKER_CONCURRENCY,
      scriptThreads: e.HOOKFLOW_SCRIPT_THREADS,
      scriptIdleMs: e.HOOKFLOW_SCRIPT_IDLE_MS,
      leaseMs: e.HOOKFLOW_LEASE_MS,
      maxAttempts: e.HOOKFLOW_MAX_ATTEMPTS,
      retryBaseMs: e.HOOKFLOW_RETRY_BASE_MS,
      retryMaxMs: e.HOOKFLOW_RETRY_MAX_MS,
    },
    telemetry: {
      metricsToken: e.HOOKFLOW_METRICS_TOKEN,
      metricsMaxWorkflows: e.HOOKFLOW_METRICS_MAX_WORKFLOWS,
      statsFlushMs: e.HOOKFLOW_STATS_FLUSH_MS,
      logAcceptedWebhooks: e.HOOKFLOW_LOG_ACCEPTED_WEBHOOKS,
    },
    retentionDays: e.HOOKFLOW_RETENTION_DAYS,
    testRunsKept: e.HOOKFLOW_TEST_RUNS_KEPT,
    alerts: {
      intervalMs: e.HOOKFLOW_ALERTS_INTERVAL_MS,
      deliveryAttempts: e.HOOKFLOW_ALERTS_DELIVERY_ATTEMPTS,
      deliveryTimeoutMs: e.HOOKFLOW_ALERTS_DELIVERY_TIMEOUT_MS,
      retryBaseMs: e.HOOKFLOW_ALERTS_RETRY_BASE_MS,
      retryMaxMs: e.HOOKFLOW_ALERTS_RETRY_MAX_MS,
      maxRulesPerWorkspace: e.HOOKFLOW_ALERTS_MAX_RULES,
      maxChannelsPerWorkspace: e.HOOKFLOW_ALERTS_MAX_CHANNELS,
    },
    bulkRatePerSecond: e.HOOKFLOW_BULK_RATE_PER_SECOND,
    sessions: { idleMs: e.HOOKFLOW_SESSION_IDLE_MINUTES * 60_000, maxMs: e.HOOKFLOW_SESSION_MAX_HOURS * 3_600_000 },
    streams: { pollMs: e.HOOKFLOW_STREAM_POLL_MS, max: e.HOOKFLOW_MAX_STREAMS },
    workspaceSecrets: { maxValueBytes: e.HOOKFLOW_SECRET_MAX_BYTES, maxAllowedOrigins: e.HOOKFLOW_SECRET_MAX_ORIGINS },
    readyTimeoutMs: e.HOOKFLOW_READY_TIMEOUT_MS,
    expressions: {
      maxLength: e.HOOKFLOW_EXPRESSION_MAX_LENGTH,
      maxDepth: e.HOOKFLOW_EXPRESSION_MAX_DEPTH,
      maxNodes: e.HOOKFLOW_EXPRESSION_MAX_NODES,
      maxCost: e.HOOKFLOW_EXPRESSION_MAX_COST,
      timeoutMs: e.HOOKFLOW_EXPRESSION_TIMEOUT_MS,
    },
    logLevel: e.LOG_LEVEL,
    pressure: {
      memoryBudgetBytes: e.HOOKFLOW_MEMORY_BUDGET_BYTES,
      shedEventLoopDelayMs: e.HOOKFLOW_SHED_EVENT_LOOP_DELAY_MS,
      shedPendingWrites: e.HOOKFLOW_SHED_PENDING_WRITES,
      opsPort: e.HOOKFLOW_OPS_PORT,
      listenBacklog: e.HOOKFLOW_LISTEN_BACKLOG,
    },
  });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
