import Foundation
import Logging
import Synchronization

/// Stores a running task's progress (the store tells subscribers), at most a few times a second:
/// backends may report far more often than subscribers need. A backend's intermediate pictures
/// become the task's live preview, at most one a second, each replacing the last.
final class ProgressReporter: Sendable {
  static let interval: Duration = .milliseconds(250)
  static let previewInterval: Duration = .seconds(1)

  struct Tools: Sendable {
    let store: any TaskQueue
    let imaging: any ImageProcessor
    let artifacts: any ArtifactStore
    let blocking: any BlockingExecutor
    let logger: Logger
  }

  let task: GenerationTask
  let tools: Tools
  private let last = Mutex<(at: ContinuousClock.Instant, value: Double)?>(nil)
  /// When the last preview was taken, and the file the task shows now (an earlier attempt's, at first).
  private let previews: Mutex<(at: ContinuousClock.Instant?, shown: String?)>

  init(task: GenerationTask, tools: Tools) {
    self.task = task
    self.tools = tools
    previews = Mutex((nil, task.preview?.key))
  }

  @Sendable func report(_ update: GenerationProgress) async {
    if let frame = update.preview, previewIsDue() { return await show(frame, progress: update.fraction) }
    let progress = update.fraction
    let now = ContinuousClock.now
    let due = last.withLock { last -> Bool in
      if let last, now - last.at < Self.interval || progress <= last.value { return false }
      last = (now, progress)
      return true
    }
    guard due, progress < 1 else { return }  // 1 is stored with the COMPLETED state
    do {
      _ = try await tools.store.updateProgress(taskID: task.id, progress: progress, preview: nil, now: Date())
    } catch {
      // A missed progress report is harmless: the next one, or the task's end, supersedes it.
      tools.logger.debug("could not store a progress report", metadata: ["task.id": "\(task.id)", "error": "\(error)"])
    }
  }

  /// The run is over: the preview goes unless the stored task still names it (a template that keeps
  /// it), or the store could not say (`stored` nil: the next attempt or the rescuer decides).
  func finish(storedAs stored: GenerationTask?) async {
    guard let stored, stored.preview == nil, let shown = previews.withLock({ $0.shown }) else { return }
    await delete(shown)
  }

  private func previewIsDue() -> Bool {
    let now = ContinuousClock.now
    return previews.withLock { previews in
      if let at = previews.at, now - at < Self.previewInterval { return false }
      previews.at = now
      return true
    }
  }

  private func show(_ frame: [UInt8], progress: Double) async {
    do {
      let jpeg = try await tools.blocking.run { [imaging = tools.imaging] in try imaging.preview(of: frame) }
      let key = ArtifactKeys.key(for: .preview, taskID: task.id, account: task.account, contentType: "image/jpeg", bytes: jpeg)
      try await tools.artifacts.write(jpeg, key: key)
      let preview = Artifact(key: key, contentType: "image/jpeg")
      let stored: GenerationTask?
      do {
        stored = try await tools.store.updateProgress(
          taskID: task.id, progress: min(progress, 0.99), preview: preview, now: Date())
      } catch {
        await delete(key)  // not recorded (the run ended mid-call, say): no file without a task naming it
        throw error
      }
      guard stored != nil else { return await delete(key) }  // the task ended meanwhile
      let replaced = previews.withLock { previews in
        defer { previews.shown = key }
        return previews.shown
      }
      if let replaced, replaced != key { await delete(replaced) }
    } catch {
      // A preview is a courtesy: a frame libvips can't read, or a store that is away, loses only it.
      tools.logger.debug("could not keep a preview", metadata: ["task.id": "\(task.id)", "error": "\(error)"])
    }
  }

  /// Deletes a preview file, also when the run that asked is being canceled.
  private func delete(_ key: String) async {
    let (artifacts, logger, taskID) = (tools.artifacts, tools.logger, task.id)
    await Task {
      do {
        try await artifacts.delete(key: key)
      } catch {
        logger.notice("could not delete a task's preview", metadata: ["task.id": "\(taskID)", "error": "\(error)"])
      }
    }.value
  }
}
