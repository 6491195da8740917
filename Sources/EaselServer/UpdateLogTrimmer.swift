import EaselCore
import Foundation
import Logging
import ServiceLifecycle

/// Keeps the update log to its retention window: entries older than `retention` are deleted,
/// oldest first, a small batch per transaction so task changes never wait long behind a trim.
/// It runs four times a window, and at least once a minute; on several nodes they take turns.
final class UpdateLogTrimmer: Service, Sendable {
  static let batch = 1_000

  let log: any UpdateLog
  let retention: Duration
  let interval: Duration
  let logger: Logger

  init(log: any UpdateLog, retention: Duration, logger: Logger) {
    self.log = log
    self.retention = retention
    interval = min(retention / 4, .seconds(60))
    self.logger = logger
  }

  func run() async throws {
    while !Task.isShuttingDownGracefully, !Task.isCancelled {
      let trimmed = await trim(now: Date())
      if trimmed > 0 { logger.debug("trimmed the update log", metadata: ["entries": "\(trimmed)"]) }
      try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
    }
  }

  /// Deletes every entry logged before the window as of `now`; how many.
  func trim(now: Date) async -> Int {
    let cutoff = now.addingTimeInterval(-retention.seconds)
    var trimmed = 0
    do {
      while true {
        let count = try await log.trimUpdates(loggedBefore: cutoff, limit: Self.batch)
        trimmed += count
        if count < Self.batch { return trimmed }
      }
    } catch {
      logger.error("can't trim the update log; trying again later", metadata: ["error": "\(error)"])
      return trimmed
    }
  }
}
