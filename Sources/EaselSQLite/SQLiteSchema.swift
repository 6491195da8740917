import GRDB

/// The schema. Invariants live here as constraints, so a bug elsewhere fails loudly instead of
/// corrupting credits: balances and holds can't go negative, and `held` can't exceed `balance`.
enum Schema {
  static var migrator: DatabaseMigrator {
    var migrator = DatabaseMigrator()
    migrator.registerMigration("v1") { db in
      try db.execute(
        sql: """
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
            credit_cost INTEGER NOT NULL CHECK (credit_cost >= 0),
            progress REAL NOT NULL DEFAULT 0,
            input_key TEXT,
            output_key TEXT,
            output_content_type TEXT,
            thumbnail_key TEXT,
            processing_time_ms INTEGER NOT NULL DEFAULT 0,
            error_code TEXT NOT NULL DEFAULT '',
            error_message TEXT NOT NULL DEFAULT '',
            attempts INTEGER NOT NULL DEFAULT 0,
            sequence INTEGER NOT NULL DEFAULT 1,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            started_at REAL,
            finished_at REAL
          );
          CREATE INDEX tasks_by_owner ON tasks (platform, user_id, created_at);
          CREATE INDEX tasks_queue ON tasks (created_at) WHERE status = 'PENDING';
          CREATE INDEX tasks_processing ON tasks (status) WHERE status = 'PROCESSING';

          CREATE TABLE task_events (
            task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
            sequence INTEGER NOT NULL,
            status TEXT NOT NULL,
            progress REAL NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (task_id, sequence)
          ) WITHOUT ROWID;

          CREATE TABLE credit_accounts (
            platform TEXT NOT NULL,
            user_id TEXT NOT NULL,
            balance INTEGER NOT NULL DEFAULT 0 CHECK (balance >= 0),
            held INTEGER NOT NULL DEFAULT 0 CHECK (held >= 0),
            CHECK (held <= balance),
            PRIMARY KEY (platform, user_id)
          ) WITHOUT ROWID;

          CREATE TABLE credit_holds (
            task_id TEXT PRIMARY KEY REFERENCES tasks (id),
            platform TEXT NOT NULL,
            user_id TEXT NOT NULL,
            amount INTEGER NOT NULL CHECK (amount >= 0),
            state TEXT NOT NULL CHECK (state IN ('OPEN', 'CAPTURED', 'RELEASED')),
            created_at REAL NOT NULL,
            settled_at REAL
          );

          CREATE TABLE ledger_entries (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            platform TEXT NOT NULL,
            user_id TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('GRANT', 'HOLD', 'CAPTURE', 'RELEASE', 'ADJUST')),
            amount INTEGER NOT NULL,
            reason TEXT NOT NULL,
            task_id TEXT,
            balance_after INTEGER NOT NULL CHECK (balance_after >= 0),
            created_at REAL NOT NULL
          );
          CREATE INDEX ledger_by_owner ON ledger_entries (platform, user_id, id);
          CREATE UNIQUE INDEX one_hold_settlement_per_task ON ledger_entries (task_id, kind)
            WHERE task_id IS NOT NULL;

          CREATE TABLE idempotency_keys (
            platform TEXT NOT NULL,
            user_id TEXT NOT NULL,
            scope TEXT NOT NULL,
            key TEXT NOT NULL,
            request_hash TEXT NOT NULL,
            task_id TEXT,
            created_at REAL NOT NULL,
            PRIMARY KEY (platform, user_id, scope, key)
          ) WITHOUT ROWID;
          """)
    }
    migrator.registerMigration("v2: template versions") { db in
      try db.execute(
        sql: """
          ALTER TABLE tasks ADD COLUMN backend_options TEXT NOT NULL DEFAULT '{}';

          CREATE TABLE template_versions (
            code TEXT NOT NULL,
            version TEXT NOT NULL,
            definition TEXT NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (code, version)
          ) WITHOUT ROWID;
          """)
    }
    migrator.registerMigration("v3: api keys") { db in
      try db.execute(
        sql: """
          CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            secret_hash TEXT NOT NULL UNIQUE,
            platform TEXT NOT NULL,
            scope TEXT NOT NULL CHECK (scope IN ('subscribe', 'tasks', 'admin')),
            name TEXT NOT NULL,
            created_at REAL NOT NULL,
            revoked_at REAL
          );
          """)
    }
    migrator.registerMigration("v4: deadlines") { db in
      try db.execute(sql: "ALTER TABLE tasks ADD COLUMN timeout_ms INTEGER NOT NULL DEFAULT 120000")
    }
    migrator.registerMigration("v5: leases") { db in
      try db.execute(
        sql: """
          ALTER TABLE tasks ADD COLUMN lease_owner TEXT;
          ALTER TABLE tasks ADD COLUMN lease_expires_at REAL;
          ALTER TABLE tasks ADD COLUMN not_before REAL;
          """)
    }
    migrator.registerMigration("v6: update log") { db in
      // Every state of every task, in commit order: streams replay from it after a disconnect.
      try db.execute(
        sql: """
          CREATE TABLE task_updates (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
            platform TEXT NOT NULL,
            user_id TEXT NOT NULL,
            sequence INTEGER NOT NULL,
            snapshot TEXT NOT NULL,
            created_at REAL NOT NULL,
            UNIQUE (task_id, sequence)
          );
          CREATE INDEX task_updates_by_account ON task_updates (platform, user_id, id);
          DROP TABLE task_events;
          ALTER TABLE tasks ADD COLUMN update_id INTEGER NOT NULL DEFAULT 0;
          """)
    }
    migrator.registerMigration("v7: webhooks") { db in
      try db.execute(
        sql: """
          ALTER TABLE tasks ADD COLUMN webhook TEXT;

          CREATE TABLE webhook_secrets (
            platform TEXT PRIMARY KEY,
            secret TEXT NOT NULL,
            created_at REAL NOT NULL
          );

          -- Written in the transaction of the task change that causes them: a crash loses none.
          CREATE TABLE webhook_deliveries (
            id TEXT PRIMARY KEY,
            task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
            event TEXT NOT NULL,
            url TEXT NOT NULL,
            snapshot TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('PENDING', 'DELIVERED', 'FAILED')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL,
            locked_until REAL,
            created_at REAL NOT NULL,
            finished_at REAL
          );
          CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);

          CREATE TABLE webhook_attempts (
            delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
            attempt INTEGER NOT NULL,
            at REAL NOT NULL,
            status_code INTEGER,
            error TEXT,
            duration_ms INTEGER NOT NULL,
            PRIMARY KEY (delivery_id, attempt)
          ) WITHOUT ROWID;
          """)
    }
    migrator.registerMigration("v8: active task count") { db in
      // Kept with the account so the per-user limit is one row read, not a count over the user's
      // tasks: +1 when a hold opens (task created), -1 when it settles (task finished).
      try db.execute(
        sql: """
          ALTER TABLE credit_accounts ADD COLUMN active_tasks INTEGER NOT NULL DEFAULT 0 CHECK (active_tasks >= 0);
          UPDATE credit_accounts SET active_tasks = (
            SELECT COUNT(*) FROM credit_holds h
            WHERE h.platform = credit_accounts.platform AND h.user_id = credit_accounts.user_id AND h.state = 'OPEN');
          """)
    }
    migrator.registerMigration("v9: cancel requests") { db in
      // A cancel of a PROCESSING task is stored, so the node running it hears of it through the feed.
      try db.execute(sql: "ALTER TABLE tasks ADD COLUMN cancel_requested_at REAL")
    }
    migrator.registerMigration("v10: live previews") { db in
      try db.execute(
        sql: """
          ALTER TABLE tasks ADD COLUMN preview_key TEXT;
          ALTER TABLE tasks ADD COLUMN preview_step INTEGER NOT NULL DEFAULT 0;
          """)
    }
    migrator.registerMigration("v11: fair queue") { db in
      // Tasks are claimed by queue rank (FairQueue); tasks queued before keep their order, as
      // default-priority tasks of the queue's first turn.
      try db.execute(
        sql: """
          ALTER TABLE tasks ADD COLUMN priority INTEGER NOT NULL DEFAULT 5;
          ALTER TABLE tasks ADD COLUMN queue_rank REAL NOT NULL DEFAULT -5;
          DROP INDEX tasks_queue;
          CREATE INDEX tasks_fair_queue ON tasks (queue_rank, created_at) WHERE status = 'PENDING';
          CREATE TABLE queue_keys (
            platform TEXT NOT NULL,
            user_id TEXT NOT NULL,
            finish REAL NOT NULL,
            PRIMARY KEY (platform, user_id)
          ) WITHOUT ROWID;
          CREATE TABLE queue_clock (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            dispatches INTEGER NOT NULL,
            base REAL NOT NULL,
            base_dispatch INTEGER NOT NULL
          );
          INSERT INTO queue_clock VALUES (1, 0, 0, 0);
          ALTER TABLE api_keys ADD COLUMN max_priority INTEGER NOT NULL DEFAULT 5;
          """)
    }
    migrator.registerMigration("v12: queue deadlines") { db in
      try db.execute(
        sql: """
          ALTER TABLE tasks ADD COLUMN start_by REAL;
          CREATE INDEX tasks_start_by ON tasks (start_by) WHERE status = 'PENDING' AND start_by IS NOT NULL;
          """)
      // A new terminal status. SQLite can't alter a CHECK constraint; for a change that leaves the
      // stored rows as they are, its documentation edits the table's definition in place.
      let version = try Int.fetchOne(db, sql: "PRAGMA schema_version") ?? 0
      try db.execute(sql: "PRAGMA writable_schema = ON")
      try db.execute(
        sql: """
          UPDATE sqlite_master SET sql = replace(sql, '''FAILED'', ''CANCELED'')', '''FAILED'', ''CANCELED'', ''EXPIRED'')')
          WHERE type = 'table' AND name = 'tasks'
          """)
      try db.execute(sql: "PRAGMA schema_version = \(version + 1)")
      try db.execute(sql: "PRAGMA writable_schema = OFF")
    }
    migrator.registerMigration("v13: queue positions") { db in
      // A task's position counts the tasks of its backend ahead of it; throughput counts recent starts.
      try db.execute(
        sql: """
          CREATE INDEX tasks_backend_queue ON tasks (backend, queue_rank, created_at) WHERE status = 'PENDING';
          CREATE INDEX tasks_backend_started ON tasks (backend, started_at);
          """)
    }
    migrator.registerMigration("v14: strict priority levels") { db in
      // Each priority is a level with its own fair queue: its own virtual time, and a turn per user
      // (FairQueue). Queued tasks keep their order within their level (their ranks lose the old
      // head start of one turn a level), and every level's clock starts at the old clock.
      try db.execute(
        sql: """
          UPDATE tasks SET queue_rank = queue_rank + priority WHERE status = 'PENDING';
          DROP INDEX tasks_fair_queue;
          DROP INDEX tasks_backend_queue;
          CREATE INDEX tasks_fair_queue ON tasks (priority, queue_rank, created_at) WHERE status = 'PENDING';
          CREATE INDEX tasks_backend_queue ON tasks (backend, priority, queue_rank, created_at) WHERE status = 'PENDING';
          CREATE INDEX tasks_waiting ON tasks (priority, created_at) WHERE status = 'PENDING';
          CREATE TABLE queue_keys_by_level (
            platform TEXT NOT NULL,
            user_id TEXT NOT NULL,
            priority INTEGER NOT NULL,
            finish REAL NOT NULL,
            PRIMARY KEY (platform, user_id, priority)
          ) WITHOUT ROWID;
          INSERT INTO queue_keys_by_level SELECT platform, user_id, 5, finish FROM queue_keys;
          DROP TABLE queue_keys;
          ALTER TABLE queue_keys_by_level RENAME TO queue_keys;
          CREATE TABLE queue_clock_by_level (
            level INTEGER PRIMARY KEY,
            dispatches INTEGER NOT NULL,
            base REAL NOT NULL,
            base_dispatch INTEGER NOT NULL
          );
          WITH RECURSIVE levels(level) AS (SELECT 0 UNION ALL SELECT level + 1 FROM levels WHERE level < 9)
          INSERT INTO queue_clock_by_level
          SELECT level, 0, (SELECT base + (dispatches - base_dispatch) * 0.1 FROM queue_clock), 0 FROM levels;
          DROP TABLE queue_clock;
          ALTER TABLE queue_clock_by_level RENAME TO queue_clock;
          """)
    }
    migrator.registerMigration("v15: task counters and keyset pages") { db in
      // ListTasks reads totals from counters and pages through an index after a cursor, so its
      // cost doesn't grow with a user's history. Ended tasks are counted as they end (tasks are
      // always inserted PENDING; unfinished ones are the open holds already counted).
      try db.execute(
        sql: """
          CREATE TABLE task_counts (
            platform TEXT NOT NULL,
            user_id TEXT NOT NULL,
            status TEXT NOT NULL,
            count INTEGER NOT NULL CHECK (count >= 0),
            PRIMARY KEY (platform, user_id, status)
          ) WITHOUT ROWID;
          INSERT INTO task_counts
          SELECT platform, user_id, status, COUNT(*) FROM tasks WHERE status IN ('COMPLETED', 'FAILED', 'CANCELED', 'EXPIRED')
          GROUP BY platform, user_id, status;
          CREATE TRIGGER tasks_count_ended AFTER UPDATE OF status ON tasks
          WHEN new.status IN ('COMPLETED', 'FAILED', 'CANCELED', 'EXPIRED') AND old.status NOT IN ('COMPLETED', 'FAILED', 'CANCELED', 'EXPIRED')
          BEGIN
            INSERT INTO task_counts VALUES (new.platform, new.user_id, new.status, 1)
            ON CONFLICT (platform, user_id, status) DO UPDATE SET count = count + 1;
          END;
          CREATE TRIGGER tasks_count_deleted AFTER DELETE ON tasks WHEN old.status IN ('COMPLETED', 'FAILED', 'CANCELED', 'EXPIRED')
          BEGIN
            UPDATE task_counts SET count = count - 1
            WHERE platform = old.platform AND user_id = old.user_id AND status = old.status;
          END;
          DROP INDEX tasks_by_owner;
          CREATE INDEX tasks_by_owner ON tasks (platform, user_id, created_at DESC, id DESC);
          CREATE INDEX tasks_by_owner_status ON tasks (platform, user_id, status, created_at DESC, id DESC);
          """)
    }
    migrator.registerMigration("v16: webhook events") { db in
      // Progress events find the task's latest delivery of their kind; a purge's cascade finds a
      // task's deliveries.
      try db.execute(sql: "CREATE INDEX webhook_deliveries_by_task ON webhook_deliveries (task_id, event)")
    }
    migrator.registerMigration("v17: retention") { db in
      try db.execute(
        sql: """
          ALTER TABLE tasks ADD COLUMN retention_ms INTEGER;
          ALTER TABLE tasks ADD COLUMN expires_at REAL;
          ALTER TABLE tasks ADD COLUMN pinned_at REAL;
          ALTER TABLE tasks ADD COLUMN artifacts_expired_at REAL;
          CREATE INDEX tasks_artifact_expiry ON tasks (expires_at)
            WHERE expires_at IS NOT NULL AND pinned_at IS NULL AND artifacts_expired_at IS NULL;
          """)
    }
    registerOutputsAndOperations(&migrator)
    return migrator
  }
}
