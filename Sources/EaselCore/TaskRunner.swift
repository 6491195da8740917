import Foundation
import Logging
import Tracing

/// Runs one claimed task: backend → output check and thumbnail → artifacts → COMPLETED,
/// or FAILED with the hold released. Never throws: every ending is stored on the task, or, when the
/// store cannot be reached, left PROCESSING for the rescuer once its lease lapses (never failed for it).
public struct TaskRunner: Sendable {
  let store: any TaskQueue
  let backends: [String: any ModelBackend]
  let imaging: any ImageProcessor
  let video: any VideoProcessor
  let artifacts: any ArtifactStore
  let running: RunningTasks
  let settings: WorkerSettings
  let blocking: any BlockingExecutor
  /// Checks outputs of templates that ask for it (`content_policy.check_outputs`).
  let outputScreen: (any OutputScreen)?
  let logger: Logger

  public init(
    store: any TaskQueue, backends: [String: any ModelBackend], imaging: any ImageProcessor,
    video: any VideoProcessor, artifacts: any ArtifactStore, running: RunningTasks,
    settings: WorkerSettings, blocking: any BlockingExecutor, outputScreen: (any OutputScreen)? = nil,
    logger: Logger = Logger(label: "easel")
  ) {
    self.outputScreen = outputScreen
    self.blocking = blocking
    self.logger = logger
    self.store = store
    self.backends = backends
    self.imaging = imaging
    self.video = video
    self.artifacts = artifacts
    self.running = running
    self.settings = settings
  }

  /// Why a run stopped before its backend answered.
  enum Interruption: Error {
    case canceled
    case deadlineExceeded(Duration)
    /// Another worker took the task over (our lease expired): leave it alone.
    case leaseLost
  }

  /// Runs the task as one span of its trace ("attempt N"), after a span for its first wait in the queue.
  public func run(_ task: GenerationTask) async {
    let trace = TaskTrace.context(continuing: task.traceParent)
    if task.attempts == 1, let started = task.startedAt {
      TaskTrace.recordSpan("queue wait", context: trace, from: task.createdAt, to: started, taskID: task.id)
    }
    await withSpan("attempt \(task.attempts)", context: trace, ofKind: .consumer) { span in
      span.attributes["easel.task.id"] = task.id
      span.attributes["easel.backend"] = task.backend
      span.attributes["easel.template"] = "\(task.template.code)@\(task.template.version)"
      await attempt(task)
    }
  }

  private func attempt(_ task: GenerationTask) async {
    let canceled = running.start(task.id)
    defer { running.finish(task.id) }
    let started = ContinuousClock.now
    let reporter = ProgressReporter(
      task: task, tools: .init(store: store, imaging: imaging, artifacts: artifacts, blocking: blocking, logger: logger))
    let outcome: TaskOutcome
    do {
      let outputs = try await produce(task, canceled: canceled, progress: reporter)
      let elapsed = ContinuousClock.now - started
      outcome = .completed(outputs: outputs, processingTimeMs: elapsed.milliseconds)
    } catch is CancellationError {
      return  // shutting down: the task stays PROCESSING and goes back to the queue at the next start
    } catch Interruption.leaseLost {
      logger.notice("lost the lease of a running task; leaving it to its new owner", metadata: ["task.id": "\(task.id)"])
      return
    } catch let failure as BackendFailure where failure.isTransient {
      await reporter.finish(storedAs: await retry(task, failure))
      return
    } catch Interruption.canceled {
      outcome = .canceled
    } catch Interruption.deadlineExceeded(let limit) {
      outcome = .failed(code: "deadline_exceeded", message: "generation took longer than \(limit.milliseconds / 1000) s")
    } catch let failure as BackendFailure {
      outcome = .failed(code: failure.code, message: failure.message)
    } catch let error as EaselError where error.code == .unavailable {
      // The store failed (an outage, say), not the generation: the task stays PROCESSING and the
      // rescuer hands it back to the queue once its lease lapses. Nothing is charged or refunded.
      logger.error(
        "the store was unreachable during a task's run; it is left for the rescuer",
        metadata: ["task.id": "\(task.id)", "error": "\(error)"])
      return
    } catch {
      outcome = .failed(code: "internal", message: "generation failed: \(error)")
    }
    await reporter.finish(storedAs: await finish(task, outcome))
  }

  private func produce(_ task: GenerationTask, canceled: AsyncStream<Void>, progress: ProgressReporter) async throws
    -> [TaskOutput]
  {
    guard let backend = backends[task.backend] else {
      throw BackendFailure(code: "backend_unavailable", message: "model backend \(task.backend) is not configured")
    }
    let input = try await task.inputImageKey.asyncMap { key in try await storage { try await artifacts.read(key: key) } }
    let job = GenerationJob(
      taskID: task.id, kind: task.kind, prompt: task.prompt,
      parameters: task.backendOptions.merging(task.parameters) { _, chosen in chosen }, inputImage: input,
      outputs: task.numOutputs)
    let made = try await withSpan("generate on \(task.backend)", ofKind: .internal) { _ in
      try await generate(job, with: backend, task: task, canceled: canceled, progress: progress)
    }
    guard !made.isEmpty else { throw BackendFailure(code: "invalid_response", message: "the backend returned no output") }
    var outputs: [TaskOutput] = []
    for media in made.prefix(task.numOutputs) {
      if let output = try await store(media, of: task) { outputs.append(output) }
    }
    guard !outputs.isEmpty else {
      throw BackendFailure(code: "content_blocked", message: "the content policy refused every output")
    }
    return outputs
  }

  /// Checks one output is what the task makes (and, when its template asks, that the content
  /// policy lets it through: nil if not), thumbnails it, and stores both.
  private func store(_ media: GeneratedMedia, of task: GenerationTask) async throws -> TaskOutput? {
    guard media.contentType.hasPrefix(task.kind == .video ? "video/" : "image/") else {
      throw BackendFailure(code: "invalid_output", message: "the backend returned \(media.contentType) for a \(task.kind) task")
    }
    if task.kind == .image, imaging.contentType(of: media.bytes) != media.contentType {
      throw BackendFailure(
        code: "invalid_output", message: "the backend's output is not the \(media.contentType) image it claims to be")
    }
    let still = try await invalidOutput { task.kind == .video ? try await video.firstFrame(of: media.bytes) : media.bytes }
    if task.checksOutputs, try await isRefused(still, of: task) { return nil }
    let thumbnailBytes = try await withSpan("imaging", ofKind: .internal) { _ in
      try await invalidOutput { try await blocking.run { [imaging] in try imaging.thumbnail(of: still) } }
    }
    let output = Artifact(
      key: ArtifactKeys.key(
        for: .output, taskID: task.id, account: task.account, contentType: media.contentType, bytes: media.bytes),
      contentType: media.contentType)
    let thumbnail = Artifact(
      key: ArtifactKeys.key(
        for: .thumbnail, taskID: task.id, account: task.account, contentType: "image/jpeg", bytes: thumbnailBytes),
      contentType: "image/jpeg")
    try await withSpan("store artifacts", ofKind: .internal) { _ in
      try await storage { try await artifacts.write(media.bytes, key: output.key) }
      try await storage { try await artifacts.write(thumbnailBytes, key: thumbnail.key) }
    }
    return TaskOutput(output: output, thumbnail: thumbnail)
  }

  /// Whether the content policy refuses the output (judged on a 512-pixel JPEG of it). No verdict
  /// when the policy fails closed is worth another attempt later.
  private func isRefused(_ still: [UInt8], of task: GenerationTask) async throws -> Bool {
    guard let outputScreen else {
      throw BackendFailure(code: "moderation_unavailable", message: "no moderation API is set to check this template's outputs")
    }
    let sample = try await invalidOutput { try await blocking.run { [imaging] in try imaging.preview(of: still) } }
    do {
      return try await outputScreen.blockedCategory(ofOutput: sample, task: task) != nil
    } catch is ModerationUnavailable {
      throw BackendFailure(code: "moderation_unavailable", message: "content moderation is unavailable", isTransient: true)
    }
  }

  /// The imaging steps' failures: the backend's output could not be read as what it claims to be.
  private func invalidOutput<T>(_ step: () async throws -> T) async throws -> T {
    do {
      return try await step()
    } catch let error as EaselError {
      throw BackendFailure(code: "invalid_output", message: error.message)
    }
  }

  /// Artifact storage failures are worth another attempt (S3 down, a full disk being cleared).
  private func storage<T>(_ step: () async throws -> T) async throws -> T {
    do {
      return try await step()
    } catch let error as EaselError {
      throw BackendFailure(code: "storage_unavailable", message: error.message, isTransient: true)
    }
  }

  /// The backend's answer, unless the task is canceled or its deadline passes first; either of
  /// those cancels the backend call (its HTTP request, and its own cancel call where it has one).
  private func generate(
    _ job: GenerationJob, with backend: any ModelBackend, task: GenerationTask, canceled: AsyncStream<Void>,
    progress: ProgressReporter
  ) async throws -> [GeneratedMedia] {
    // The template's timeout is for one output.
    let deadline = Duration.milliseconds(task.timeoutMs) * max(task.numOutputs, 1)
    return try await withThrowingTaskGroup(of: [GeneratedMedia]?.self) { group in
      group.addTask { try await backend.generateAll(job, progress: progress.report) }
      group.addTask {
        for await _ in canceled { throw Interruption.canceled }
        return nil
      }
      group.addTask {
        try await Task.sleep(for: deadline)
        throw Interruption.deadlineExceeded(deadline)
      }
      group.addTask {
        try await keepLease(of: task)
        return nil
      }
      while let result = try await group.next() {
        if let media = result {
          group.cancelAll()
          return media
        }
      }
      throw CancellationError()
    }
  }

  /// Renews the lease every third of its duration while the run goes on. A renewal the store
  /// cannot answer (a short outage) is retried at the next turn while the lease may still hold;
  /// a lease another worker took over, or one that lapsed unrenewed, ends the run.
  private func keepLease(of task: GenerationTask) async throws {
    var renewed = ContinuousClock.now
    while true {
      try await Task.sleep(for: settings.leaseDuration / 3)
      do {
        guard try await store.renewLease(taskID: task.id, lease: settings.lease(from: Date())) else {
          throw Interruption.leaseLost
        }
        renewed = ContinuousClock.now
      } catch let error as EaselError {
        guard ContinuousClock.now - renewed < settings.leaseDuration else { throw Interruption.leaseLost }
        logger.warning(
          "could not renew a running task's lease; trying again", metadata: ["task.id": "\(task.id)", "error": "\(error)"])
      }
    }
  }

  /// The task as stored after the run; nil if the store could not be reached (or the task was no
  /// longer this worker's).
  private func finish(_ task: GenerationTask, _ outcome: TaskOutcome) async -> GenerationTask? {
    var stored: GenerationTask?
    await persist(task, "\(outcome.status.rawValue)") {
      stored = try await store.finishTask(id: task.id, owner: settings.owner, outcome: outcome, now: Date())
    }
    return stored
  }

  /// Back to the queue after a pause, or FAILED once the attempts are used up.
  private func retry(_ task: GenerationTask, _ failure: BackendFailure) async -> GenerationTask? {
    let retryAt = Date().addingTimeInterval(settings.retryDelay(afterAttempt: task.attempts).seconds)
    var stored: GenerationTask?
    await persist(task, "a retry after \(failure.code)") {
      stored = try await store.retryTask(
        id: task.id, owner: settings.owner, failure: failure, retryAt: retryAt, maxAttempts: settings.maxAttempts,
        now: Date())
    }
    return stored
  }

  /// Stores how a run ended, trying again through a short outage for as long as the lease lasts.
  /// If the store stays away the task stays PROCESSING, and the rescuer hands it back to the queue
  /// once its lease lapses, so nothing is charged or lost.
  private func persist(_ task: GenerationTask, _ what: String, _ change: () async throws -> Void) async {
    let giveUp = ContinuousClock.now + settings.leaseDuration
    var pause = Duration.milliseconds(100)
    while true {
      do {
        return try await change()
      } catch {
        let metadata: Logger.Metadata = ["task.id": "\(task.id)", "change": "\(what)", "error": "\(error)"]
        guard ContinuousClock.now + pause < giveUp, !Task.isCancelled else {
          return logger.error("could not store the end of a task's run; the rescuer will requeue it", metadata: metadata)
        }
        logger.warning("could not store the end of a task's run; trying again", metadata: metadata)
        try? await Task.sleep(for: pause)
        pause = min(pause * 2, .seconds(2))
      }
    }
  }
}

extension Duration {
  public var milliseconds: Int64 {
    let (seconds, attoseconds) = components
    return seconds * 1000 + attoseconds / 1_000_000_000_000_000
  }
}

extension Optional {
  func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
    guard let self else { return nil }
    return try await transform(self)
  }
}
