import EaselCore
import Logging
import PostgresNIO

/// The schema in PostgreSQL: the same tables, columns and constraints as the SQLite store's
/// (`SQLiteSchema.swift` in EaselSQLite, whose v1–v8 this baseline equals; a parity test compares them).
/// Times are epoch seconds in `DOUBLE PRECISION`, as SQLite's REAL, so both stores return
/// exactly the dates they were given. A new migration goes into both files.
enum PostgresSchema {
  static let migrations: [(name: String, statements: [String])] = foundations + outputsAndOperations

  private static let foundations: [(name: String, statements: [String])] = [
    (
      "v8 baseline",
      [
        """
        CREATE TABLE tasks (
          id TEXT PRIMARY KEY,
          platform TEXT NOT NULL,
          user_id TEXT NOT NULL,
          kind TEXT NOT NULL CHECK (kind IN ('image', 'video')),
          status TEXT NOT NULL CHECK (status IN ('PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'CANCELED')),
          prompt TEXT NOT NULL,
          parameters TEXT NOT NULL,
          template_code TEXT NOT NULL,
          template_name TEXT NOT NULL,
          template_version TEXT NOT NULL,
          template_category TEXT NOT NULL,
          backend TEXT NOT NULL,
          credit_cost BIGINT NOT NULL CHECK (credit_cost >= 0),
          progress DOUBLE PRECISION NOT NULL DEFAULT 0,
          input_key TEXT,
          output_key TEXT,
          output_content_type TEXT,
          thumbnail_key TEXT,
          processing_time_ms BIGINT NOT NULL DEFAULT 0,
          error_code TEXT NOT NULL DEFAULT '',
          error_message TEXT NOT NULL DEFAULT '',
          attempts BIGINT NOT NULL DEFAULT 0,
          sequence BIGINT NOT NULL DEFAULT 1,
          created_at DOUBLE PRECISION NOT NULL,
          updated_at DOUBLE PRECISION NOT NULL,
          started_at DOUBLE PRECISION,
          finished_at DOUBLE PRECISION,
          backend_options TEXT NOT NULL DEFAULT '{}',
          timeout_ms BIGINT NOT NULL DEFAULT 120000,
          lease_owner TEXT,
          lease_expires_at DOUBLE PRECISION,
          not_before DOUBLE PRECISION,
          update_id BIGINT NOT NULL DEFAULT 0,
          webhook TEXT
        )
        """,
        "CREATE INDEX tasks_by_owner ON tasks (platform, user_id, created_at)",
        "CREATE INDEX tasks_queue ON tasks (created_at, id) WHERE status = 'PENDING'",
        "CREATE INDEX tasks_processing ON tasks (lease_expires_at) WHERE status = 'PROCESSING'",
        """
        CREATE TABLE credit_accounts (
          platform TEXT NOT NULL,
          user_id TEXT NOT NULL,
          balance BIGINT NOT NULL DEFAULT 0 CHECK (balance >= 0),
          held BIGINT NOT NULL DEFAULT 0 CHECK (held >= 0),
          active_tasks BIGINT NOT NULL DEFAULT 0 CHECK (active_tasks >= 0),
          CHECK (held <= balance),
          PRIMARY KEY (platform, user_id)
        )
        """,
        """
        CREATE TABLE credit_holds (
          task_id TEXT PRIMARY KEY REFERENCES tasks (id),
          platform TEXT NOT NULL,
          user_id TEXT NOT NULL,
          amount BIGINT NOT NULL CHECK (amount >= 0),
          state TEXT NOT NULL CHECK (state IN ('OPEN', 'CAPTURED', 'RELEASED')),
          created_at DOUBLE PRECISION NOT NULL,
          settled_at DOUBLE PRECISION
        )
        """,
        """
        CREATE TABLE ledger_entries (
          id BIGSERIAL PRIMARY KEY,
          platform TEXT NOT NULL,
          user_id TEXT NOT NULL,
          kind TEXT NOT NULL CHECK (kind IN ('GRANT', 'HOLD', 'CAPTURE', 'RELEASE', 'ADJUST')),
          amount BIGINT NOT NULL,
          reason TEXT NOT NULL,
          task_id TEXT,
          balance_after BIGINT NOT NULL CHECK (balance_after >= 0),
          created_at DOUBLE PRECISION NOT NULL
        )
        """,
        "CREATE INDEX ledger_by_owner ON ledger_entries (platform, user_id, id)",
        "CREATE UNIQUE INDEX one_hold_settlement_per_task ON ledger_entries (task_id, kind) WHERE task_id IS NOT NULL",
        """
        CREATE TABLE idempotency_keys (
          platform TEXT NOT NULL,
          user_id TEXT NOT NULL,
          scope TEXT NOT NULL,
          key TEXT NOT NULL,
          request_hash TEXT NOT NULL,
          task_id TEXT,
          created_at DOUBLE PRECISION NOT NULL,
          PRIMARY KEY (platform, user_id, scope, key)
        )
        """,
        """
        CREATE TABLE template_versions (
          code TEXT NOT NULL,
          version TEXT NOT NULL,
          definition TEXT NOT NULL,
          created_at DOUBLE PRECISION NOT NULL,
          PRIMARY KEY (code, version)
        )
        """,
        """
        CREATE TABLE api_keys (
          id TEXT PRIMARY KEY,
          secret_hash TEXT NOT NULL UNIQUE,
          platform TEXT NOT NULL,
          scope TEXT NOT NULL CHECK (scope IN ('subscribe', 'tasks', 'admin')),
          name TEXT NOT NULL,
          created_at DOUBLE PRECISION NOT NULL,
          revoked_at DOUBLE PRECISION
        )
        """,
        // Every state of every task; since v21 readers follow the position the sequencer assigns.
        """
        CREATE TABLE task_updates (
          id BIGSERIAL PRIMARY KEY,
          task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
          platform TEXT NOT NULL,
          user_id TEXT NOT NULL,
          sequence BIGINT NOT NULL,
          snapshot TEXT NOT NULL,
          created_at DOUBLE PRECISION NOT NULL,
          UNIQUE (task_id, sequence)
        )
        """,
        "CREATE INDEX task_updates_by_account ON task_updates (platform, user_id, id)",
        """
        CREATE TABLE webhook_secrets (
          platform TEXT PRIMARY KEY,
          secret TEXT NOT NULL,
          created_at DOUBLE PRECISION NOT NULL
        )
        """,
        """
        CREATE TABLE webhook_deliveries (
          id TEXT PRIMARY KEY,
          task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
          event TEXT NOT NULL,
          url TEXT NOT NULL,
          snapshot TEXT NOT NULL,
          state TEXT NOT NULL CHECK (state IN ('PENDING', 'DELIVERED', 'FAILED')),
          attempts BIGINT NOT NULL DEFAULT 0,
          next_attempt_at DOUBLE PRECISION NOT NULL,
          locked_until DOUBLE PRECISION,
          created_at DOUBLE PRECISION NOT NULL,
          finished_at DOUBLE PRECISION
        )
        """,
        "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at)",
        """
        CREATE TABLE webhook_attempts (
          delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
          attempt BIGINT NOT NULL,
          at DOUBLE PRECISION NOT NULL,
          status_code BIGINT,
          error TEXT,
          duration_ms BIGINT NOT NULL,
          PRIMARY KEY (delivery_id, attempt)
        )
        """,
      ]
    ),
    ("v9: cancel requests", ["ALTER TABLE tasks ADD COLUMN cancel_requested_at DOUBLE PRECISION"]),
    (
      "v10: live previews",
      [
        "ALTER TABLE tasks ADD COLUMN preview_key TEXT",
        "ALTER TABLE tasks ADD COLUMN preview_step BIGINT NOT NULL DEFAULT 0",
      ]
    ),
    (
      // Tasks are claimed by queue rank (FairQueue). Dispatches are counted by a sequence, and the
      // clock's base is written only when a dispatched start passes it, so claims rarely wait on one row.
      "v11: fair queue",
      [
        "ALTER TABLE tasks ADD COLUMN priority BIGINT NOT NULL DEFAULT 5",
        "ALTER TABLE tasks ADD COLUMN queue_rank DOUBLE PRECISION NOT NULL DEFAULT -5",
        "DROP INDEX tasks_queue",
        "CREATE INDEX tasks_fair_queue ON tasks (queue_rank, created_at, id) WHERE status = 'PENDING'",
        """
        CREATE TABLE queue_keys (
          platform TEXT NOT NULL,
          user_id TEXT NOT NULL,
          finish DOUBLE PRECISION NOT NULL,
          PRIMARY KEY (platform, user_id)
        )
        """,
        "CREATE SEQUENCE queue_dispatches",
        """
        CREATE TABLE queue_clock (
          id BIGINT PRIMARY KEY CHECK (id = 1),
          base DOUBLE PRECISION NOT NULL,
          base_dispatch BIGINT NOT NULL
        )
        """,
        "INSERT INTO queue_clock VALUES (1, 0, 0)",
        "ALTER TABLE api_keys ADD COLUMN max_priority BIGINT NOT NULL DEFAULT 5",
      ]
    ),
    (
      "v12: queue deadlines",
      [
        "ALTER TABLE tasks ADD COLUMN start_by DOUBLE PRECISION",
        "CREATE INDEX tasks_start_by ON tasks (start_by) WHERE status = 'PENDING' AND start_by IS NOT NULL",
        "ALTER TABLE tasks DROP CONSTRAINT tasks_status_check",
        """
        ALTER TABLE tasks ADD CONSTRAINT tasks_status_check
          CHECK (status IN ('PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'CANCELED', 'EXPIRED'))
        """,
      ]
    ),
    (
      "v13: queue positions",
      [
        // With id, as the claim orders: each backend's head is then the index's first entry.
        "CREATE INDEX tasks_backend_queue ON tasks (backend, queue_rank, created_at, id) WHERE status = 'PENDING'",
        "CREATE INDEX tasks_backend_started ON tasks (backend, started_at)",
      ]
    ),
    (
      // Each priority is a level with its own fair queue: its own virtual time (its dispatches
      // counted by its own sequence), and a turn per user (FairQueue). Queued tasks keep their order
      // within their level (their ranks lose the old head start of one turn a level), and every
      // level's clock starts at the old clock.
      "v14: strict priority levels",
      [
        "UPDATE tasks SET queue_rank = queue_rank + priority WHERE status = 'PENDING'",
        "DROP INDEX tasks_fair_queue",
        "DROP INDEX tasks_backend_queue",
        "CREATE INDEX tasks_fair_queue ON tasks (priority, queue_rank, created_at, id) WHERE status = 'PENDING'",
        "CREATE INDEX tasks_backend_queue ON tasks (backend, priority, queue_rank, created_at, id) WHERE status = 'PENDING'",
        "CREATE INDEX tasks_waiting ON tasks (priority, created_at) WHERE status = 'PENDING'",
        "ALTER TABLE queue_keys ADD COLUMN priority BIGINT NOT NULL DEFAULT 5",
        "ALTER TABLE queue_keys DROP CONSTRAINT queue_keys_pkey",
        "ALTER TABLE queue_keys ADD PRIMARY KEY (platform, user_id, priority)",
        """
        CREATE TABLE queue_clock_by_level (
          level BIGINT PRIMARY KEY,
          base DOUBLE PRECISION NOT NULL,
          base_dispatch BIGINT NOT NULL
        )
        """,
        """
        INSERT INTO queue_clock_by_level
        SELECT level, clock.base + ((CASE WHEN is_called THEN last_value ELSE 0 END) - clock.base_dispatch) * 0.1, 0
        FROM generate_series(0, 9) level, queue_dispatches, queue_clock clock
        """,
        "DROP TABLE queue_clock",
        "ALTER TABLE queue_clock_by_level RENAME TO queue_clock",
        "DROP SEQUENCE queue_dispatches",
      ] + FairQueue.priorities.map { "CREATE SEQUENCE queue_dispatches_\($0)" }
    ),
    (
      // ListTasks reads totals from counters and pages through an index after a cursor, so its
      // cost doesn't grow with a user's history. Ended tasks are counted as they end (tasks are
      // always inserted PENDING; unfinished ones are the open holds already counted), in the
      // transaction that ends them, which already holds the account's row.
      "v15: task counters and keyset pages",
      [
        """
        CREATE TABLE task_counts (
          platform TEXT NOT NULL,
          user_id TEXT NOT NULL,
          status TEXT NOT NULL,
          count BIGINT NOT NULL CHECK (count >= 0),
          PRIMARY KEY (platform, user_id, status)
        )
        """,
        """
        INSERT INTO task_counts
        SELECT platform, user_id, status, COUNT(*) FROM tasks WHERE status IN ('COMPLETED', 'FAILED', 'CANCELED', 'EXPIRED')
        GROUP BY platform, user_id, status
        """,
        """
        CREATE FUNCTION count_ended_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'DELETE' THEN
            UPDATE task_counts SET count = count - 1
            WHERE platform = OLD.platform AND user_id = OLD.user_id AND status = OLD.status;
          ELSE
            INSERT INTO task_counts VALUES (NEW.platform, NEW.user_id, NEW.status, 1)
            ON CONFLICT (platform, user_id, status) DO UPDATE SET count = task_counts.count + 1;
          END IF;
          RETURN NULL;
        END $$
        """,
        """
        CREATE TRIGGER tasks_count_ended AFTER UPDATE OF status ON tasks FOR EACH ROW
        WHEN (NEW.status IN ('COMPLETED', 'FAILED', 'CANCELED', 'EXPIRED') AND OLD.status NOT IN ('COMPLETED', 'FAILED', 'CANCELED', 'EXPIRED'))
        EXECUTE FUNCTION count_ended_tasks()
        """,
        """
        CREATE TRIGGER tasks_count_deleted AFTER DELETE ON tasks FOR EACH ROW
        WHEN (OLD.status IN ('COMPLETED', 'FAILED', 'CANCELED', 'EXPIRED'))
        EXECUTE FUNCTION count_ended_tasks()
        """,
        "DROP INDEX tasks_by_owner",
        "CREATE INDEX tasks_by_owner ON tasks (platform, user_id, created_at DESC, id DESC)",
        "CREATE INDEX tasks_by_owner_status ON tasks (platform, user_id, status, created_at DESC, id DESC)",
      ]
    ),
    (
      // Progress events find the task's latest delivery of their kind; a purge's cascade finds a
      // task's deliveries.
      "v16: webhook events",
      ["CREATE INDEX webhook_deliveries_by_task ON webhook_deliveries (task_id, event)"]
    ),
    (
      "v17: retention",
      [
        "ALTER TABLE tasks ADD COLUMN retention_ms BIGINT",
        "ALTER TABLE tasks ADD COLUMN expires_at DOUBLE PRECISION",
        "ALTER TABLE tasks ADD COLUMN pinned_at DOUBLE PRECISION",
        "ALTER TABLE tasks ADD COLUMN artifacts_expired_at DOUBLE PRECISION",
        """
        CREATE INDEX tasks_artifact_expiry ON tasks (expires_at)
          WHERE expires_at IS NOT NULL AND pinned_at IS NULL AND artifacts_expired_at IS NULL
        """,
      ]
    ),
  ]

  /// Applies the migrations not applied yet. Nodes starting together take turns on an advisory
  /// lock, so each migration runs once.
  static func migrate(_ connection: PostgresConnection, logger: Logger) async throws {
    try await connection.withTransaction(logger: logger) { connection in
      try await connection.query("SELECT pg_advisory_xact_lock(\(AdvisoryLock.migrations))", logger: logger)
      try await connection.query(
        "CREATE TABLE IF NOT EXISTS easel_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        logger: logger)
      var applied = Set<String>()
      for try await name in try await connection.query("SELECT name FROM easel_migrations", logger: logger).decode(String.self) {
        applied.insert(name)
      }
      for migration in migrations where !applied.contains(migration.name) {
        for statement in migration.statements {
          try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
        try await connection.query("INSERT INTO easel_migrations (name) VALUES (\(migration.name))", logger: logger)
        logger.info("applied database migration", metadata: ["migration": "\(migration.name)"])
      }
    }
  }
}

/// Keys of the cluster-wide advisory locks Easel takes (arbitrary, fixed numbers).
enum AdvisoryLock {
  static let migrations: Int64 = 0x4561_7365_6C01
  /// Held, for as long as its session lives, by the node that sequences the update log.
  static let sequencer: Int64 = 0x4561_7365_6C03
}
