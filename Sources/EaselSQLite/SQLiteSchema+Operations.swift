import GRDB

extension Schema {
  /// Several outputs, batches, traces, the operators' tables and the update log's retention (v18 to v21).
  static func registerOutputsAndOperations(_ migrator: inout DatabaseMigrator) {
    migrator.registerMigration("v18: outputs and batches") { db in
      try db.execute(
        sql: """
          ALTER TABLE tasks ADD COLUMN num_outputs INTEGER NOT NULL DEFAULT 1;
          ALTER TABLE tasks ADD COLUMN outputs TEXT;
          ALTER TABLE tasks ADD COLUMN output_count INTEGER NOT NULL DEFAULT 0;
          ALTER TABLE tasks ADD COLUMN batch_id TEXT;
          UPDATE tasks SET output_count = 1 WHERE output_key IS NOT NULL;
          CREATE INDEX tasks_by_batch ON tasks (batch_id, created_at DESC, id DESC) WHERE batch_id IS NOT NULL;
          CREATE TABLE batches (
            id TEXT PRIMARY KEY,
            platform TEXT NOT NULL,
            user_id TEXT NOT NULL,
            task_ids TEXT NOT NULL,
            created_at REAL NOT NULL
          ) WITHOUT ROWID;
          """)
    }
    migrator.registerMigration("v19: traces") { db in
      try db.execute(sql: "ALTER TABLE tasks ADD COLUMN trace_parent TEXT")
    }
    migrator.registerMigration("v20: operators") { db in
      // SQLite can't change a CHECK in place: the keys table is rebuilt with the operator scope.
      try db.execute(
        sql: """
          CREATE TABLE api_keys_v20 (
            id TEXT PRIMARY KEY,
            secret_hash TEXT NOT NULL UNIQUE,
            platform TEXT NOT NULL,
            scope TEXT NOT NULL CHECK (scope IN ('subscribe', 'tasks', 'admin', 'operator')),
            name TEXT NOT NULL,
            created_at REAL NOT NULL,
            revoked_at REAL,
            max_priority INTEGER NOT NULL DEFAULT 5
          );
          INSERT INTO api_keys_v20 SELECT id, secret_hash, platform, scope, name, created_at, revoked_at, max_priority FROM api_keys;
          DROP TABLE api_keys;
          ALTER TABLE api_keys_v20 RENAME TO api_keys;
          CREATE TABLE backend_pauses (
            backend TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            reason TEXT NOT NULL,
            paused_at REAL NOT NULL,
            PRIMARY KEY (backend, endpoint)
          ) WITHOUT ROWID;
          ALTER TABLE tasks ADD COLUMN retry_of TEXT;
          CREATE INDEX tasks_ended_by_finish ON tasks (finished_at) WHERE finished_at IS NOT NULL;
          CREATE INDEX tasks_by_start ON tasks (started_at) WHERE started_at IS NOT NULL;
          CREATE INDEX tasks_by_creation ON tasks (created_at DESC, id DESC);
          CREATE INDEX tasks_by_status_creation ON tasks (status, created_at DESC, id DESC);
          CREATE INDEX tasks_by_status_backend ON tasks (status, backend);
          CREATE INDEX ledger_by_time ON ledger_entries (created_at);
          """)
    }
    migrator.registerMigration("v21: update log retention") { db in
      // How far the retention window has trimmed the update log: resuming before it is OUT_OF_RANGE.
      try db.execute(
        sql: """
          CREATE TABLE update_log_trimmed (
            singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
            position INTEGER NOT NULL
          );
          INSERT INTO update_log_trimmed (singleton, position) VALUES (1, 0);
          """)
    }
    migrator.registerMigration("v22: holds live until settled") { db in
      // A hold's row goes when it is captured or released: the ledger's entries record both.
      try db.execute(
        sql: """
          DELETE FROM credit_holds WHERE state != 'OPEN';
          ALTER TABLE credit_holds DROP COLUMN settled_at;
          ALTER TABLE credit_holds DROP COLUMN state;
          """)
    }
    migrator.registerMigration("v23: creation indexes without the task id") { db in
      // Listings order ties in creation time by rowid, which ends every index entry anyway: the
      // 36-character id in each entry was a quarter of these indexes.
      try db.execute(
        sql: """
          DROP INDEX tasks_by_owner;
          CREATE INDEX tasks_by_owner ON tasks (platform, user_id, created_at);
          DROP INDEX tasks_by_owner_status;
          CREATE INDEX tasks_by_owner_status ON tasks (platform, user_id, status, created_at);
          DROP INDEX tasks_by_creation;
          CREATE INDEX tasks_by_creation ON tasks (created_at);
          DROP INDEX tasks_by_status_creation;
          CREATE INDEX tasks_by_status_creation ON tasks (status, created_at);
          DROP INDEX tasks_by_batch;
          CREATE INDEX tasks_by_batch ON tasks (batch_id, created_at) WHERE batch_id IS NOT NULL;
          """)
    }
    migrator.registerMigration("v24: captures by time") { db in
      // The console's "captured today" is the only reader by time: captures alone are indexed.
      try db.execute(
        sql: """
          DROP INDEX ledger_by_time;
          CREATE INDEX ledger_captures_by_time ON ledger_entries (created_at) WHERE kind = 'CAPTURE';
          """)
    }
    migrator.registerMigration("v25: tasks name their template definition") { db in
      // A task row names the definition it ran by its digest and leaves out what the definition
      // says (TemplateDefinitions); rows without a digest keep every field, as before.
      try db.execute(
        sql: """
          CREATE TABLE template_definitions (digest INTEGER PRIMARY KEY, definition TEXT NOT NULL);
          ALTER TABLE tasks ADD COLUMN template_digest INTEGER;
          """)
    }
  }
}
