import ArgumentParser
import EaselRPC
import Foundation
import GRPCCore
import SwiftProtobuf

/// Where a stream got to, so a dropped one resumes with no gap and no duplicate.
private struct StreamPosition: Sendable {
  var last = Easel_V1_Task()
  var afterSequence: UInt64 = 0
  var resumeToken = ""
  var barOpen = false
  var finished = false
  /// The last preview step saved of each task (`watch --preview`).
  var savedPreviews: [String: UInt32] = [:]
}

/// Prints a task's (or a user's) updates as they come, and returns the final state. A stream the
/// server ends or drops (a restart, a slow terminal) is opened again from where it stopped, for up
/// to a minute; from the current state if that point is past the update log's retention window. With `previews`, each new live preview is saved there as `TASK-STEP.jpg`.
func follow(
  _ clients: EaselClients, platform: String, userID: String, taskID: String, json: Bool, printFinal: Bool,
  previews: URL? = nil
) async throws -> Easel_V1_Task {
  let onTerminal = !json && isatty(STDOUT_FILENO) == 1
  var position = StreamPosition()
  var retries = 0
  while true {
    let request = Easel_V1_StreamTaskUpdatesRequest.with {
      $0.platform = platform
      $0.userID = userID
      $0.taskID = taskID
      $0.afterSequence = position.afterSequence
      $0.resumeToken = taskID.isEmpty ? position.resumeToken : ""
    }
    var failure: (any Error)?
    do {
      (position, failure) = try await clients.tasks.streamTaskUpdates(request, metadata: clients.metadata) {
        [position] response in
        var position = position
        do {
          for try await update in response.messages {
            show(update, after: &position, onTerminal: onTerminal, json: json)
            if let previews { await save(previewOf: update, to: previews, clients, platform: platform, userID: userID, &position) }
            position.finished = !taskID.isEmpty && TextOutput.isTerminal(update.task.status)
          }
          return (position, nil)
        } catch {
          return (position, error)
        }
      }
    } catch {
      failure = error
    }
    if position.finished { break }
    // Ended without an end (the server stopped) or dropped: resume, unless the error is final.
    if let failure {
      guard let status = failure as? RPCError, [.unavailable, .resourceExhausted, .outOfRange].contains(status.code) else {
        throw failure
      }
      if status.code == .outOfRange {
        // Away longer than the update log keeps: start afresh, from the current states.
        FileHandle.standardError.write(Data("easel: \(status.message); following from the current state\n".utf8))
        (position.afterSequence, position.resumeToken) = (0, "")
        continue
      }
    }
    retries = position.afterSequence == request.afterSequence ? retries + 1 : 0
    guard retries <= 60 else { throw failure ?? RPCError(code: .unavailable, message: "the update stream keeps ending") }
    try await Task.sleep(for: .seconds(1))
  }
  if position.barOpen { print() }
  if printFinal, !json { print(TextOutput.task(position.last)) }
  return position.last
}

/// Saves the update's preview when it is newer than the last one saved of its task. The task may
/// have moved on meanwhile (a newer preview, or none once it ended): that frame is skipped.
private func save(
  previewOf update: Easel_V1_TaskUpdate, to folder: URL, _ clients: EaselClients, platform: String, userID: String,
  _ position: inout StreamPosition
) async {
  let task = update.task
  guard update.previewStep > position.savedPreviews[task.id, default: 0], !task.previewURL.isEmpty else { return }
  position.savedPreviews[task.id] = update.previewStep
  guard
    let (bytes, _) = try? await fetchArtifact(
      clients, platform: platform, userID: userID, taskID: task.id, kind: .preview)
  else { return }
  let file = folder.appendingPathComponent("\(task.id)-\(update.previewStep).jpg")
  do {
    try bytes.write(to: file, options: .atomic)
  } catch {
    FileHandle.standardError.write(Data("easel: can't save a preview to \(file.path): \(error)\n".utf8))
  }
}

/// An artifact's bytes and content type.
func fetchArtifact(
  _ clients: EaselClients, platform: String, userID: String, taskID: String, kind: Easel_V1_ArtifactKind,
  index: Int32 = 0
) async throws -> (Data, String) {
  let request = Easel_V1_FetchArtifactRequest.with {
    $0.platform = platform
    $0.userID = userID
    $0.taskID = taskID
    $0.kind = kind
    $0.outputIndex = index
  }
  return try await clients.tasks.fetchArtifact(request, metadata: clients.metadata) { response in
    var bytes = Data()
    var contentType = ""
    for try await chunk in response.messages {
      bytes.append(chunk.data)
      contentType = chunk.contentType
    }
    return (bytes, contentType)
  }
}

private func show(_ update: Easel_V1_TaskUpdate, after position: inout StreamPosition, onTerminal: Bool, json: Bool) {
  if onTerminal {
    // One progress bar per task, redrawn in place until the task changes or ends.
    if position.barOpen, update.task.id != position.last.id { print() }
    print("\r\u{1B}[K" + TextOutput.progressBar(update), terminator: "")
    fflush(nil)
    position.barOpen = !TextOutput.isTerminal(update.task.status)
    if !position.barOpen { print() }
  } else {
    print(json ? (try? FullJSON.string(update)) ?? "{}" : TextOutput.update(update))
    // Each update goes out at once, to a pipe or a file as to a terminal (stdout is block-buffered there).
    fflush(nil)
  }
  position.last = update.task
  position.afterSequence = update.sequence
  if !update.resumeToken.isEmpty { position.resumeToken = update.resumeToken }
}
