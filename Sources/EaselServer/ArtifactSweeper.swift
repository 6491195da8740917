import EaselCore
import Foundation
import Logging
import ServiceLifecycle

/// Deletes the artifacts of ended tasks whose retention ran out, a batch at a time, every
/// `interval`; the tasks and their ledger stay, marked `artifacts_expired`, and pinned tasks are
/// skipped. A task is marked before its files go, so a pin that comes first keeps them; a crash
/// between the two leaves files behind, never a task pointing at nothing.
final class ArtifactSweeper: Service, Sendable {
  static let batch = 100

  let store: any TaskRetention
  let artifacts: any ArtifactStore
  let interval: Duration
  let logger: Logger

  init(store: any TaskRetention, artifacts: any ArtifactStore, interval: Duration, logger: Logger) {
    self.store = store
    self.artifacts = artifacts
    self.interval = interval
    self.logger = logger
  }

  func run() async throws {
    while !Task.isShuttingDownGracefully, !Task.isCancelled {
      let swept = await sweep(now: Date())
      if swept > 0 { logger.info("deleted the artifacts of tasks past their retention", metadata: ["count": "\(swept)"]) }
      try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
    }
  }

  /// Every task due at `now`; how many had their artifacts deleted.
  func sweep(now: Date) async -> Int {
    var swept = 0
    do {
      while true {
        let due = try await store.tasksWithExpiredArtifacts(now: now, limit: Self.batch)
        for task in due {
          guard let marked = try await store.markArtifactsExpired(taskID: task.id, now: now) else { continue }
          for key in marked.artifactKeys {
            do {
              try await artifacts.delete(key: key)
            } catch {
              logger.warning(
                "can't delete an expired artifact; it stays behind", metadata: ["task.id": "\(task.id)", "error": "\(error)"])
            }
          }
          swept += 1
        }
        if due.count < Self.batch { return swept }
      }
    } catch {
      logger.error("can't sweep expired artifacts; trying again later", metadata: ["error": "\(error)"])
      return swept
    }
  }
}
