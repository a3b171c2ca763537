import type { Pool } from 'pg';
import { longQuery, withTransaction } from './pg-pool.js';

/**
 * Numbered schema migrations for PostgreSQL: the same numbers, tables and column names as
 * `../sqlite/migrations.ts`, with PostgreSQL types. Times are BIGINT epoch milliseconds. JSON
 * travels as TEXT, not JSONB: the write path hands us already-serialised JSON, nothing queries
 * inside it, and JSONB would reorder keys and refuse a `\u0000` that a webhook body may carry.
 * Ids are `COLLATE "C"` so newest-first paging orders ties by id the way SQLite does, whatever
 * the database's locale. Never edit a published migration: add one.
 */
export const POSTGRES_MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE workspaces (
        id TEXT COLLATE "C" PRIMARY KEY,
        name TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );

      CREATE TABLE workflows (
        workspace_id TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id),
        id TEXT COLLATE "C" NOT NULL,
        latest_version INTEGER NOT NULL,
        deleted_at BIGINT,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (workspace_id, id)
      );

      CREATE TABLE workflow_versions (
        workspace_id TEXT COLLATE "C" NOT NULL,
        workflow_id TEXT COLLATE "C" NOT NULL,
        version INTEGER NOT NULL,
        name TEXT NOT NULL,
        enabled BOOLEAN NOT NULL,
        definition TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (workspace_id, workflow_id, version)
      );

      CREATE TABLE secrets (
        id TEXT COLLATE "C" PRIMARY KEY,
        workspace_id TEXT COLLATE "C" NOT NULL,
        workflow_id TEXT COLLATE "C" NOT NULL,
        purpose TEXT NOT NULL,
        ciphertext TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT
      );
      CREATE INDEX secrets_owner ON secrets (workspace_id, workflow_id);

      CREATE TABLE events (
        id TEXT COLLATE "C" PRIMARY KEY,
        workspace_id TEXT COLLATE "C" NOT NULL,
        workflow_id TEXT COLLATE "C" NOT NULL,
        workflow_version INTEGER NOT NULL,
        received_at BIGINT NOT NULL,
        test BOOLEAN NOT NULL,
        headers TEXT NOT NULL,
        body TEXT NOT NULL,
        meta TEXT NOT NULL,
        idempotency_key TEXT
      );
      CREATE INDEX events_by_workflow ON events (workspace_id, workflow_id, received_at DESC, id DESC);

      CREATE TABLE runs (
        id TEXT COLLATE "C" PRIMARY KEY,
        workspace_id TEXT COLLATE "C" NOT NULL,
        workflow_id TEXT COLLATE "C" NOT NULL,
        workflow_version INTEGER NOT NULL,
        event_id TEXT COLLATE "C" NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued','running','succeeded','failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL,
        created_at BIGINT NOT NULL,
        available_at BIGINT NOT NULL,
        started_at BIGINT,
        finished_at BIGINT,
        lease_owner TEXT,
        lease_expires_at BIGINT,
        last_error TEXT,
        replay_of TEXT COLLATE "C"
      );
      CREATE INDEX runs_by_workflow ON runs (workspace_id, workflow_id, created_at DESC, id DESC);
      -- (available_at, id) matches the claim's ORDER BY, so a claim reads the index head and stops.
      CREATE INDEX runs_due ON runs (available_at, id) WHERE status = 'queued';
      CREATE INDEX runs_leased ON runs (lease_expires_at) WHERE status = 'running';
      CREATE INDEX runs_by_event ON runs (event_id);

      CREATE TABLE step_results (
        run_id TEXT COLLATE "C" NOT NULL,
        step_id TEXT COLLATE "C" NOT NULL,
        step_index INTEGER NOT NULL,
        type TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        status TEXT NOT NULL,
        started_at BIGINT NOT NULL,
        finished_at BIGINT NOT NULL,
        output TEXT NOT NULL,
        memory_writes TEXT NOT NULL,
        error TEXT,
        logs TEXT NOT NULL,
        usage TEXT,
        PRIMARY KEY (run_id, step_id)
      );

      CREATE TABLE idempotency_keys (
        workspace_id TEXT COLLATE "C" NOT NULL,
        workflow_id TEXT COLLATE "C" NOT NULL,
        key TEXT COLLATE "C" NOT NULL,
        event_id TEXT COLLATE "C" NOT NULL,
        run_id TEXT COLLATE "C",
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (workspace_id, workflow_id, key)
      );
      CREATE INDEX idempotency_expiry ON idempotency_keys (expires_at);

      CREATE TABLE rejected_calls (
        id TEXT COLLATE "C" PRIMARY KEY,
        workspace_id TEXT COLLATE "C" NOT NULL,
        workflow_id TEXT COLLATE "C" NOT NULL,
        received_at BIGINT NOT NULL,
        status INTEGER NOT NULL,
        reason TEXT NOT NULL,
        source_ip TEXT NOT NULL,
        body_bytes INTEGER
      );
      CREATE INDEX rejected_by_workflow ON rejected_calls (workspace_id, workflow_id, received_at DESC, id DESC);
    `,
  },
  {
    version: 2,
    name: 'readiness probe',
    // /readyz commits a real write here: SELECT 1 needs no space and takes no lock.
    sql: `
      CREATE TABLE readiness_probe (
        id INTEGER PRIMARY KEY,
        checked_at BIGINT NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'secrets bound to a destination origin',
    // NULL: not sent anywhere (shared keys, signature secrets), or stored before this migration.
    sql: 'ALTER TABLE secrets ADD COLUMN origin TEXT;',
  },
  {
    version: 5,
    name: 'filtered events, skipped and continued steps',
    sql: `
      ALTER TABLE events ADD COLUMN filtered BOOLEAN NOT NULL DEFAULT false;
      ALTER TABLE step_results ADD COLUMN condition TEXT;
      ALTER TABLE step_results ADD COLUMN continued BOOLEAN NOT NULL DEFAULT false;
    `,
  },
  {
    version: 6,
    name: 'workspace secrets',
    sql: `
      CREATE TABLE workspace_secrets (
        workspace_id TEXT COLLATE "C" NOT NULL,
        name TEXT COLLATE "C" NOT NULL,
        ciphertext TEXT NOT NULL,
        allowed_origins TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (workspace_id, name)
      );
      CREATE INDEX workspace_secrets_by_created ON workspace_secrets (workspace_id, created_at DESC, name DESC);
    `,
  },
  {
    version: 7,
    name: 'api tokens and audit log',
    sql: `
      CREATE TABLE api_tokens (
        id TEXT COLLATE "C" PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('viewer','editor','admin')),
        workspace_id TEXT COLLATE "C",
        digest TEXT COLLATE "C" NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT
      );
      CREATE INDEX api_tokens_by_time ON api_tokens (created_at DESC, id DESC);

      CREATE TABLE audit_log (
        id TEXT COLLATE "C" PRIMARY KEY,
        at BIGINT NOT NULL,
        actor_id TEXT NOT NULL,
        actor_name TEXT NOT NULL,
        action TEXT NOT NULL,
        workspace_id TEXT COLLATE "C",
        target TEXT NOT NULL,
        source_ip TEXT NOT NULL,
        details TEXT NOT NULL
      );
      CREATE INDEX audit_by_time ON audit_log (at DESC, id DESC);
      CREATE INDEX audit_by_workspace ON audit_log (workspace_id, at DESC, id DESC);
    `,
  },
  {
    version: 8,
    name: 'webhook stats, user agent of rejected calls',
    sql: `
      CREATE TABLE webhook_stats (
        workspace_id TEXT COLLATE "C" NOT NULL,
        workflow_id TEXT COLLATE "C" NOT NULL,
        minute BIGINT NOT NULL,
        outcome TEXT NOT NULL,
        status INTEGER NOT NULL,
        latency_bucket INTEGER NOT NULL,
        count BIGINT NOT NULL,
        PRIMARY KEY (workspace_id, workflow_id, minute, outcome, status, latency_bucket)
      );
      CREATE INDEX webhook_stats_by_minute ON webhook_stats (minute);
      ALTER TABLE rejected_calls ADD COLUMN user_agent TEXT;
    `,
  },
  {
    version: 9,
    name: 'settings: the master key id every node must use',
    sql: `
      CREATE TABLE settings (
        name TEXT COLLATE "C" PRIMARY KEY,
        value TEXT NOT NULL
      );
    `,
  },
  {
    version: 10,
    name: 'step results keep their earlier attempts',
    sql: `
      ALTER TABLE step_results ADD COLUMN earlier_attempts TEXT NOT NULL DEFAULT '[]';
    `,
  },
  {
    version: 11,
    name: 'bulk replay and resume jobs',
    sql: `
      CREATE TABLE jobs (
        id TEXT COLLATE "C" PRIMARY KEY,
        workspace_id TEXT COLLATE "C" NOT NULL,
        workflow_id TEXT COLLATE "C" NOT NULL,
        kind TEXT NOT NULL,
        status TEXT NOT NULL,
        options TEXT NOT NULL,
        run_ids TEXT NOT NULL,
        done INTEGER NOT NULL,
        failed INTEGER NOT NULL,
        last_error TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        finished_at BIGINT
      );
      CREATE INDEX jobs_by_workspace ON jobs (workspace_id, created_at DESC, id DESC);
    `,
  },
  {
    version: 12,
    name: 'LLM tokens used per workflow per UTC day (budgets)',
    sql: `
      CREATE TABLE llm_usage (
        workspace_id TEXT COLLATE "C" NOT NULL,
        workflow_id TEXT COLLATE "C" NOT NULL,
        day TEXT NOT NULL,
        tokens BIGINT NOT NULL,
        PRIMARY KEY (workspace_id, workflow_id, day)
      );
    `,
  },
  {
    version: 13,
    name: 'built-in alerts: channels, rules, state, history, deliveries, evaluator lease',
    sql: `
      CREATE TABLE alert_channels (
        workspace_id TEXT COLLATE "C" NOT NULL,
        id TEXT COLLATE "C" NOT NULL,
        name TEXT NOT NULL,
        url TEXT NOT NULL,
        secret TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (workspace_id, id)
      );
      CREATE TABLE alert_rules (
        workspace_id TEXT COLLATE "C" NOT NULL,
        id TEXT COLLATE "C" NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        workflow_id TEXT COLLATE "C",
        params TEXT NOT NULL,
        channel_ids TEXT NOT NULL,
        enabled BOOLEAN NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (workspace_id, id)
      );
      CREATE TABLE alert_states (
        workspace_id TEXT COLLATE "C" NOT NULL,
        rule_id TEXT COLLATE "C" NOT NULL,
        status TEXT NOT NULL,
        since BIGINT NOT NULL,
        value DOUBLE PRECISION,
        message TEXT NOT NULL,
        PRIMARY KEY (workspace_id, rule_id)
      );
      CREATE TABLE alert_history (
        id TEXT COLLATE "C" PRIMARY KEY,
        workspace_id TEXT COLLATE "C" NOT NULL,
        rule_id TEXT COLLATE "C" NOT NULL,
        rule_name TEXT NOT NULL,
        status TEXT NOT NULL,
        at BIGINT NOT NULL,
        value DOUBLE PRECISION,
        message TEXT NOT NULL
      );
      CREATE INDEX alert_history_by_workspace ON alert_history (workspace_id, at DESC, id DESC);
      CREATE TABLE alert_deliveries (
        id TEXT COLLATE "C" PRIMARY KEY,
        history_id TEXT COLLATE "C" NOT NULL,
        workspace_id TEXT COLLATE "C" NOT NULL,
        channel_id TEXT COLLATE "C" NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        next_attempt_at BIGINT,
        last_status INTEGER,
        last_error TEXT,
        delivered_at BIGINT
      );
      CREATE INDEX alert_deliveries_by_history ON alert_deliveries (history_id);
      CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at) WHERE status = 'pending';
      CREATE TABLE alert_lease (
        name TEXT COLLATE "C" PRIMARY KEY,
        owner TEXT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX runs_by_finished ON runs (workspace_id, workflow_id, finished_at) WHERE finished_at IS NOT NULL;
    `,
  },
  {
    version: 14,
    name: 'per-key ordering and concurrency caps (claim)',
    // arrival: the order runs reached the database in; the default is set after the column is
    // added so existing rows are not rewritten.
    sql: `
      ALTER TABLE runs ADD COLUMN concurrency_key TEXT COLLATE "C";
      ALTER TABLE runs ADD COLUMN arrival BIGINT;
      CREATE SEQUENCE runs_arrival_seq;
      ALTER TABLE runs ALTER COLUMN arrival SET DEFAULT nextval('runs_arrival_seq');
      ALTER TABLE workflows ADD COLUMN concurrency_limit INTEGER;
      ALTER TABLE workflows ADD COLUMN max_concurrent_runs INTEGER;
      CREATE INDEX runs_by_key ON runs (workspace_id, workflow_id, concurrency_key, arrival)
        WHERE concurrency_key IS NOT NULL AND status IN ('queued', 'running');
      CREATE INDEX runs_running_by_workflow ON runs (workspace_id, workflow_id) WHERE status = 'running';
    `,
  },
  {
    version: 15,
    name: 'test runs, stored apart from runs',
    sql: `
      CREATE TABLE test_runs (
        id TEXT COLLATE "C" PRIMARY KEY,
        workspace_id TEXT COLLATE "C" NOT NULL,
        workflow_id TEXT COLLATE "C" NOT NULL,
        kind TEXT NOT NULL,
        mode TEXT NOT NULL,
        status TEXT NOT NULL,
        event_id TEXT COLLATE "C",
        baseline_run_id TEXT COLLATE "C",
        created_at BIGINT NOT NULL,
        result TEXT NOT NULL
      );
      CREATE INDEX test_runs_by_workflow ON test_runs (workspace_id, workflow_id, created_at DESC, id DESC);
      CREATE INDEX test_runs_by_created ON test_runs (created_at);
    `,
  },
  {
    version: 16,
    name: 'console sessions (only the digest of a session id is stored)',
    sql: `
      CREATE TABLE sessions (
        digest TEXT COLLATE "C" PRIMARY KEY,
        token_id TEXT COLLATE "C",
        actor_id TEXT NOT NULL,
        actor_name TEXT NOT NULL,
        role TEXT NOT NULL,
        workspace_id TEXT COLLATE "C",
        created_at BIGINT NOT NULL,
        last_seen_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX sessions_by_token ON sessions (token_id);
      CREATE INDEX sessions_by_expiry ON sessions (expires_at);
    `,
  },
];

/**
 * Applies pending migrations in ONE transaction that first takes a transaction-scoped advisory
 * lock keyed by the schema: when several nodes start at once, one migrates and the others wait,
 * then find nothing left to do. Safe to call on every start.
 */
export async function migrate(pool: Pool): Promise<void> {
  await withTransaction(pool, 'migration', async (client) => {
    // Waiting for another node's migration, or migrating a large table, may take minutes.
    await client.query(longQuery("SELECT pg_advisory_xact_lock(hashtext('hookflow.migrate'), hashtext(current_schema()))"));
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((row) => row.version));
    for (const migration of POSTGRES_MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      await client.query(longQuery(migration.sql));
      await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, Date.now()]);
    }
  });
}
