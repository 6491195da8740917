/// Positions in the update log, shared by every node without a lock.
///
/// A change's position is its transaction's id (`pg_current_xact_id()`) times 2^20 plus its place
/// in the transaction. Transactions commit in any order, so a position can become visible after
/// higher ones; but a transaction older than the oldest one still running (the snapshot's xmin)
/// has ended, so every position below `horizon` is final: none can appear there any more.
/// Readers that pass positions on in order (the listener, resumed streams) stop at the horizon.
/// A long-running writing transaction anywhere in the cluster holds the horizon back, and with
/// it the delivery of updates.
enum UpdateLog {
  static let positionsPerTransaction: Int64 = 1 << 20

  /// SQL for the position of the `index`th change of the current transaction.
  static func position(_ index: Int) -> String {
    "(pg_current_xact_id()::text::bigint * \(positionsPerTransaction) + \(index))"
  }

  /// SQL for the first position that may still change: those below it are final.
  static let horizon = "(pg_snapshot_xmin(pg_current_snapshot())::text::bigint * \(positionsPerTransaction))"
}
