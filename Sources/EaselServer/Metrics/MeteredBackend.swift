import EaselCore

/// Times a model backend and counts its failures, by the name templates use for it; for a fleet,
/// also by the server that ran the task.
struct MeteredBackend: ModelBackend {
  let name: String
  let backend: any ModelBackend
  let metrics: EaselMetrics

  var hasFreeSlot: Bool { backend.hasFreeSlot }
  func reserveSlot(for task: GenerationTask) -> Bool { backend.reserveSlot(for: task) }
  func releaseSlot(for taskID: String) { backend.releaseSlot(for: taskID) }

  func generate(_ job: GenerationJob, progress: @escaping ProgressHandler) async throws -> GeneratedMedia {
    try await metered(job) { try await backend.generate(job, progress: progress) }
  }

  func generateAll(_ job: GenerationJob, progress: @escaping ProgressHandler) async throws -> [GeneratedMedia] {
    try await metered(job) { try await backend.generateAll(job, progress: progress) }
  }

  private func metered<T>(_ job: GenerationJob, _ call: () async throws -> T) async throws -> T {
    let start = ContinuousClock.now
    let fleet = (backend as? any FleetBackend)?.pool
    defer {
      if let fleet, let server = fleet.endpoint(for: job.taskID) {
        metrics.endpointFinished(backend: fleet.backend, endpoint: server.url, duration: .now - start)
      }
    }
    do {
      let result = try await call()
      metrics.backendFinished(backend: name, duration: .now - start, errorCode: nil)
      return result
    } catch {
      let code = (error as? BackendFailure)?.code ?? (error is CancellationError ? "canceled" : "error")
      metrics.backendFinished(backend: name, duration: .now - start, errorCode: code)
      throw error
    }
  }
}
