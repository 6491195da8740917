/// The task state machine:
///
///     PENDING ──▶ PROCESSING ──▶ COMPLETED
///        │  ▲          │ ├─────▶ FAILED
///        │  └──────────┘ └─────▶ CANCELED
///        ├──────────────────────▶ FAILED
///        ├──────────────────────▶ CANCELED
///        └──────────────────────▶ EXPIRED (not started within its start_within_ms)
///
/// PROCESSING goes back to PENDING only when a worker hands a task back (restart, shutdown).
public enum TaskStatus: String, Hashable, Sendable, Codable, CaseIterable {
  case pending = "PENDING"
  case processing = "PROCESSING"
  case completed = "COMPLETED"
  case failed = "FAILED"
  case canceled = "CANCELED"
  case expired = "EXPIRED"

  public var isTerminal: Bool {
    switch self {
    case .completed, .failed, .canceled, .expired: true
    case .pending, .processing: false
    }
  }

  public func canTransition(to next: TaskStatus) -> Bool {
    switch (self, next) {
    case (.pending, .processing), (.pending, .failed), (.pending, .canceled), (.pending, .expired): true
    case (.processing, .pending), (.processing, .completed), (.processing, .failed), (.processing, .canceled): true
    default: false
    }
  }

  /// How a task's credit hold ends when the task reaches this status; nil while it is open.
  public var holdSettlement: HoldSettlement? {
    switch self {
    case .completed: .capture
    case .failed: .release(reason: LedgerReason.generationFailed)
    case .canceled: .release(reason: LedgerReason.generationCanceled)
    case .expired: .release(reason: LedgerReason.generationExpired)
    case .pending, .processing: nil
    }
  }
}
