/**
 * Numbered schema migrations for SQLite. Applied in order at start, each in its own
 * transaction, recorded in `schema_migrations`. Never edit a published migration: add one.
 * The PostgreSQL adapter keeps the same numbering for the same changes.
 */
export const SQLITE_MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE workspaces (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE workflows (
        workspace_id TEXT NOT NULL REFERENCES workspaces(id),
        id TEXT NOT NULL,
        latest_version INTEGER NOT NULL,
        deleted_at INTEGER,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (workspace_id, id)
      ) STRICT;

      CREATE TABLE workflow_versions (
        workspace_id TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        name TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        definition TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (workspace_id, workflow_id, version)
      ) STRICT;

      CREATE TABLE secrets (
        id TEXT PRIMARY KEY,
        workspace_id TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        purpose TEXT NOT NULL,
        ciphertext TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER
      ) STRICT;
      CREATE INDEX secrets_owner ON secrets (workspace_id, workflow_id);

      CREATE TABLE events (
        id TEXT PRIMARY KEY,
        workspace_id TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        workflow_version INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        test INTEGER NOT NULL,
        headers TEXT NOT NULL,
        body TEXT NOT NULL,
        meta TEXT NOT NULL,
        idempotency_key TEXT
      ) STRICT;
      CREATE INDEX events_by_workflow ON events (workspace_id, workflow_id, received_at DESC, id DESC);

      CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        workspace_id TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        workflow_version INTEGER NOT NULL,
        event_id TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued','running','succeeded','failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        available_at INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER,
        lease_owner TEXT,
        lease_expires_at INTEGER,
        last_error TEXT,
        replay_of TEXT
      ) STRICT;
      CREATE INDEX runs_by_workflow ON runs (workspace_id, workflow_id, created_at DESC, id DESC);
      CREATE INDEX runs_due ON runs (available_at) WHERE status = 'queued';
      CREATE INDEX runs_leased ON runs (lease_expires_at) WHERE status = 'running';

      CREATE TABLE step_results (
        run_id TEXT NOT NULL,
        step_id TEXT NOT NULL,
        step_index INTEGER NOT NULL,
        type TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        status TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        finished_at INTEGER NOT NULL,
        output TEXT NOT NULL,
        memory_writes TEXT NOT NULL,
        error TEXT,
        logs TEXT NOT NULL,
        usage TEXT,
        PRIMARY KEY (run_id, step_id)
      ) STRICT;

      CREATE TABLE idempotency_keys (
        workspace_id TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        key TEXT NOT NULL,
        event_id TEXT NOT NULL,
        run_id TEXT,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (workspace_id, workflow_id, key)
      ) STRICT;
      CREATE INDEX idempotency_expiry ON idempotency_keys (expires_at);

      CREATE TABLE rejected_calls (
        id TEXT PRIMARY KEY,
        workspace_id TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        status INTEGER NOT NULL,
        reason TEXT NOT NULL,
        source_ip TEXT NOT NULL,
        body_bytes INTEGER
      ) STRICT;
      CREATE INDEX rejected_by_workflow ON rejected_calls (workspace_id, workflow_id, received_at DESC, id DESC);
    `,
  },
  {
    version: 2,
    name: 'readiness probe',
    // /readyz commits a real write here: a read or an empty transaction needs no space and
    // takes no lock another process may hold.
    sql: `
      CREATE TABLE readiness_probe (
        id INTEGER PRIMARY KEY,
        checked_at INTEGER NOT NULL
      ) STRICT;
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
      ALTER TABLE events ADD COLUMN filtered INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE step_results ADD COLUMN condition TEXT;
      ALTER TABLE step_results ADD COLUMN continued INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 6,
    name: 'workspace secrets',
    sql: `
      CREATE TABLE workspace_secrets (
        workspace_id TEXT NOT NULL,
        name TEXT NOT NULL,
        ciphertext TEXT NOT NULL,
        allowed_origins TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (workspace_id, name)
      ) STRICT;
      CREATE INDEX workspace_secrets_by_created ON workspace_secrets (workspace_id, created_at DESC, name DESC);
    `,
  },
  {
    version: 7,
    name: 'api tokens and audit log',
    sql: `
      CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('viewer','editor','admin')),
        workspace_id TEXT,
        digest TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
      ) STRICT;
      CREATE INDEX api_tokens_by_time ON api_tokens (created_at DESC, id DESC);

      CREATE TABLE audit_log (
        id TEXT PRIMARY KEY,
        at INTEGER NOT NULL,
        actor_id TEXT NOT NULL,
        actor_name TEXT NOT NULL,
        action TEXT NOT NULL,
        workspace_id TEXT,
        target TEXT NOT NULL,
        source_ip TEXT NOT NULL,
        details TEXT NOT NULL
      ) STRICT;
      CREATE INDEX audit_by_time ON audit_log (at DESC, id DESC);
      CREATE INDEX audit_by_workspace ON audit_log (workspace_id, at DESC, id DESC);
    `,
  },
  {
    version: 8,
    name: 'webhook stats, user agent of rejected calls',
    sql: `
      CREATE TABLE webhook_stats (
        workspace_id TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        minute INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        status INTEGER NOT NULL,
        latency_bucket INTEGER NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (workspace_id, workflow_id, minute, outcome, status, latency_bucket)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX webhook_stats_by_minute ON webhook_stats (minute);
      ALTER TABLE rejected_calls ADD COLUMN user_agent TEXT;
    `,
  },
  {
    version: 9,
    name: 'settings: the master key id every node must use',
    sql: `
      CREATE TABLE settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;
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
        id TEXT PRIMARY KEY,
        workspace_id TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        status TEXT NOT NULL,
        options TEXT NOT NULL,
        run_ids TEXT NOT NULL,
        done INTEGER NOT NULL,
        failed INTEGER NOT NULL,
        last_error TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        finished_at INTEGER
      ) STRICT;
      CREATE INDEX jobs_by_workspace ON jobs (workspace_id, created_at DESC, id DESC);
    `,
  },
  {
    version: 12,
    name: 'LLM tokens used per workflow per UTC day (budgets)',
    sql: `
      CREATE TABLE llm_usage (
        workspace_id TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        day TEXT NOT NULL,
        tokens INTEGER NOT NULL,
        PRIMARY KEY (workspace_id, workflow_id, day)
      ) STRICT;
    `,
  },
  {
    version: 13,
    name: 'built-in alerts: channels, rules, state, history, deliveries, evaluator lease',
    sql: `
      CREATE TABLE alert_channels (
        workspace_id TEXT NOT NULL,
        id TEXT NOT NULL,
        name TEXT NOT NULL,
        url TEXT NOT NULL,
        secret TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (workspace_id, id)
      ) STRICT;
      CREATE TABLE alert_rules (
        workspace_id TEXT NOT NULL,
        id TEXT NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        workflow_id TEXT,
        params TEXT NOT NULL,
        channel_ids TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (workspace_id, id)
      ) STRICT;
      CREATE TABLE alert_states (
        workspace_id TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        status TEXT NOT NULL,
        since INTEGER NOT NULL,
        value REAL,
        message TEXT NOT NULL,
        PRIMARY KEY (workspace_id, rule_id)
      ) STRICT;
      CREATE TABLE alert_history (
        id TEXT PRIMARY KEY,
        workspace_id TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        rule_name TEXT NOT NULL,
        status TEXT NOT NULL,
        at INTEGER NOT NULL,
        value REAL,
        message TEXT NOT NULL
      ) STRICT;
      CREATE INDEX alert_history_by_workspace ON alert_history (workspace_id, at DESC, id DESC);
      CREATE TABLE alert_deliveries (
        id TEXT PRIMARY KEY,
        history_id TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        channel_id TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        next_attempt_at INTEGER,
        last_status INTEGER,
        last_error TEXT,
        delivered_at INTEGER
      ) STRICT;
      CREATE INDEX alert_deliveries_by_history ON alert_deliveries (history_id);
      CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at) WHERE status = 'pending';
      CREATE TABLE alert_lease (
        name TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX runs_by_finished ON runs (workspace_id, workflow_id, finished_at) WHERE finished_at IS NOT NULL;
    `,
  },
  {
    version: 14,
    name: 'per-key ordering and concurrency caps (claim)',
    // arrival: the order keyed runs arrived in, from a trigger so every INSERT path gets it
    // (MAX over an index, not the rowid: VACUUM may renumber rowids).
    sql: `
      ALTER TABLE runs ADD COLUMN concurrency_key TEXT;
      ALTER TABLE runs ADD COLUMN arrival INTEGER;
      ALTER TABLE workflows ADD COLUMN concurrency_limit INTEGER;
      ALTER TABLE workflows ADD COLUMN max_concurrent_runs INTEGER;
      CREATE INDEX runs_arrival ON runs (arrival) WHERE arrival IS NOT NULL;
      CREATE INDEX runs_by_key ON runs (workspace_id, workflow_id, concurrency_key, arrival)
        WHERE concurrency_key IS NOT NULL AND status IN ('queued', 'running');
      CREATE INDEX runs_running_by_workflow ON runs (workspace_id, workflow_id) WHERE status = 'running';
      CREATE TRIGGER runs_arrival AFTER INSERT ON runs WHEN NEW.concurrency_key IS NOT NULL
      BEGIN
        UPDATE runs SET arrival = (SELECT COALESCE(MAX(arrival), 0) + 1 FROM runs WHERE arrival IS NOT NULL) WHERE id = NEW.id;
      END;
    `,
  },
  {
    version: 15,
    name: 'test runs, stored apart from runs',
    sql: `
      CREATE TABLE test_runs (
        id TEXT PRIMARY KEY,
        workspace_id TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        mode TEXT NOT NULL,
        status TEXT NOT NULL,
        event_id TEXT,
        baseline_run_id TEXT,
        created_at INTEGER NOT NULL,
        result TEXT NOT NULL
      ) STRICT;
      CREATE INDEX test_runs_by_workflow ON test_runs (workspace_id, workflow_id, created_at DESC, id DESC);
      CREATE INDEX test_runs_by_created ON test_runs (created_at);
    `,
  },
  {
    version: 16,
    name: 'console sessions (only the digest of a session id is stored)',
    sql: `
      CREATE TABLE sessions (
        digest TEXT PRIMARY KEY,
        token_id TEXT,
        actor_id TEXT NOT NULL,
        actor_name TEXT NOT NULL,
        role TEXT NOT NULL,
        workspace_id TEXT,
        created_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX sessions_by_token ON sessions (token_id);
      CREATE INDEX sessions_by_expiry ON sessions (expires_at);
    `,
  },
];
