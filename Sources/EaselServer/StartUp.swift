import EaselCore
import Foundation
import Logging
import ServiceLifecycle

/// What a server does once its store is ready and before anything else runs: hand back to the
/// queue the tasks a stop left PROCESSING, and load the templates. The other services wait for it
/// (`Gated`); if it fails, they never start and the server stops with its error.
struct StartUp: Service {
  let store: OpenStore
  let settings: WorkerSettings
  let reloader: TemplateReloader
  let done: ReadySignal
  let logger: Logger

  func run() async throws {
    do {
      try await store.ready()
      // The data folder is locked, so every PROCESSING task of a private database, and every one
      // leased to this node in a shared one, was left by a process that is gone. Other nodes' tasks
      // are theirs until their leases expire.
      let abandoned: AbandonedTasks = store.isShared ? .expired(before: Date(), orLeasedTo: settings.owner) : .all
      let rescued = try await store.store.rescueAbandonedTasks(abandoned, maxAttempts: settings.maxAttempts, now: Date())
      if !rescued.isEmpty {
        logger.notice("requeued tasks interrupted by the last stop", metadata: ["count": "\(rescued.count)"])
      }
      try await reloader.loadAtStart()
      done.finish(.success(()))
    } catch {
      done.finish(.failure(error))
      throw error
    }
    try? await gracefulShutdown()  // a service runs until the group stops
  }
}

/// A service that starts once start-up is done, and not at all if it failed.
struct Gated: Service {
  let gate: ReadySignal
  let service: any Service

  func run() async throws {
    try await gate.wait()
    try await service.run()
  }
}
