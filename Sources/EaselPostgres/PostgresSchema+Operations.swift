extension PostgresSchema {
  /// Several outputs, batches, traces, the operators' tables, the sequenced update log and its
  /// retention (v18 to v23).
  static let outputsAndOperations: [(name: String, statements: [String])] = [
    (
      "v18: outputs and batches",
      [
        "ALTER TABLE tasks ADD COLUMN num_outputs BIGINT NOT NULL DEFAULT 1",
        "ALTER TABLE tasks ADD COLUMN outputs TEXT",
        "ALTER TABLE tasks ADD COLUMN output_count BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE tasks ADD COLUMN batch_id TEXT",
        "UPDATE tasks SET output_count = 1 WHERE output_key IS NOT NULL",
        "CREATE INDEX tasks_by_batch ON tasks (batch_id, created_at DESC, id DESC) WHERE batch_id IS NOT NULL",
        """
        CREATE TABLE batches (
          id TEXT PRIMARY KEY,
          platform TEXT NOT NULL,
          user_id TEXT NOT NULL,
          task_ids TEXT NOT NULL,
          created_at DOUBLE PRECISION NOT NULL
        )
        """,
      ]
    ),
    ("v19: traces", ["ALTER TABLE tasks ADD COLUMN trace_parent TEXT"]),
    (
      "v20: operators",
      [
        "ALTER TABLE api_keys DROP CONSTRAINT api_keys_scope_check",
        "ALTER TABLE api_keys ADD CONSTRAINT api_keys_scope_check CHECK (scope IN ('subscribe', 'tasks', 'admin', 'operator'))",
        """
        CREATE TABLE backend_pauses (
          backend TEXT NOT NULL,
          endpoint TEXT NOT NULL,
          reason TEXT NOT NULL,
          paused_at DOUBLE PRECISION NOT NULL,
          PRIMARY KEY (backend, endpoint)
        )
        """,
        "ALTER TABLE tasks ADD COLUMN retry_of TEXT",
        "CREATE INDEX tasks_ended_by_finish ON tasks (finished_at) WHERE finished_at IS NOT NULL",
        "CREATE INDEX tasks_by_start ON tasks (started_at) WHERE started_at IS NOT NULL",
        "CREATE INDEX tasks_by_creation ON tasks (created_at DESC, id DESC)",
        "CREATE INDEX tasks_by_status_creation ON tasks (status, created_at DESC, id DESC)",
        // GetStats' counts by status and backend read this index alone, not the wide task rows.
        "CREATE INDEX tasks_by_status_backend ON tasks (status, backend)",
        "CREATE INDEX ledger_by_time ON ledger_entries (created_at)",
      ]
    ),
    (
      // Writers append log rows without a position; the sequencer (see `UpdateSequencer`) numbers
      // committed rows in order, and readers follow positions. Existing rows keep their ids as
      // positions. `tasks.update_id` is no longer kept on this store.
      "v21: sequenced update log",
      [
        "ALTER TABLE task_updates ADD COLUMN position BIGINT",
        "UPDATE task_updates SET position = id",
        "CREATE UNIQUE INDEX task_updates_by_position ON task_updates (position)",
        "CREATE INDEX task_updates_unsequenced ON task_updates (id) WHERE position IS NULL",
        "DROP INDEX task_updates_by_account",
        "CREATE INDEX task_updates_by_account ON task_updates (platform, user_id, position)",
        """
        CREATE TABLE update_log_head (
          singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
          position BIGINT NOT NULL
        )
        """,
        "INSERT INTO update_log_head (position) SELECT COALESCE(MAX(id), 0) FROM task_updates",
      ]
    ),
    (
      // Each node's change feed reads every node's changes; the status routes one (wakes workers,
      // finds subscribers) without decoding its snapshot.
      "v22: update log status",
      [
        "ALTER TABLE task_updates ADD COLUMN status TEXT",
        "UPDATE task_updates SET status = snapshot::jsonb ->> 'status'",
        "ALTER TABLE task_updates ALTER COLUMN status SET NOT NULL",
      ]
    ),
    (
      // How far the retention window has trimmed the update log: resuming before it is OUT_OF_RANGE.
      "v23: update log retention",
      [
        """
        CREATE TABLE update_log_trimmed (
          singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
          position BIGINT NOT NULL
        )
        """,
        "INSERT INTO update_log_trimmed (position) VALUES (0)",
      ]
    ),
    (
      // A hold's row goes when it is captured or released: the ledger's entries record both.
      "v24: holds live until settled",
      [
        "DELETE FROM credit_holds WHERE state != 'OPEN'",
        "ALTER TABLE credit_holds DROP COLUMN settled_at",
        "ALTER TABLE credit_holds DROP COLUMN state",
      ]
    ),
    (
      // The console's "captured today" is the only reader by time: captures alone are indexed.
      "v25: captures by time",
      [
        "DROP INDEX ledger_by_time",
        "CREATE INDEX ledger_captures_by_time ON ledger_entries (created_at) WHERE kind = 'CAPTURE'",
      ]
    ),
  ]
}
