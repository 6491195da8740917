import ArgumentParser
import EaselRPC
import Foundation
import SwiftProtobuf

struct BatchCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "batch",
    abstract: "Create up to 100 tasks at once (all or none), and follow or cancel them together.",
    subcommands: [CreateBatch.self, GetBatch.self, WatchBatch.self, CancelBatch.self])
}

struct CreateBatch: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "create",
    abstract: "Create a batch from a file of task requests, one JSON object a line.",
    discussion: """
      Each line is a CreateTaskRequest in the proto's JSON form, for example
        {"templateCode": "txt2img", "parameters": {"prompt": "a red fox"}, "numOutputs": 2}
      Platform and user come from --platform and --user. If any request is refused, nothing is created
      and the error names it (tasks[3]: …).
      Example: easel batch create --user alice --file requests.jsonl --idempotency-key nightly-2026-11-30
      """)

  @OptionGroup var connection: ConnectionOptions
  @OptionGroup var account: AccountOptions
  @Option(help: "The requests, one JSON object a line (- reads standard input).") var file: String
  @Option(help: "Retrying with the same key returns the same batch and creates nothing more.") var idempotencyKey: String?

  func run() async throws {
    let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
    var request = Easel_V1_CreateBatchRequest()
    request.platform = account.platformName
    request.userID = account.userID
    request.idempotencyKey = idempotencyKey ?? ""
    for (number, line) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated()
    where !line.trimmingCharacters(in: .whitespaces).isEmpty {
      do {
        request.tasks.append(try Easel_V1_CreateTaskRequest(jsonString: String(line)))
      } catch {
        throw ValidationError("\(file) line \(number + 1) is not a CreateTaskRequest: \(error)")
      }
    }
    let batch = try await connection.withClients { try await $0.tasks.createBatch(request, metadata: $0.metadata) }
    print(connection.json ? try FullJSON.string(batch) : TextOutput.batch(batch))
  }
}

struct GetBatch: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "get", abstract: "A batch's tasks counted by status, and its credits.",
    discussion: "Example: easel batch get BATCH_ID --user alice")

  @OptionGroup var connection: ConnectionOptions
  @OptionGroup var account: AccountOptions
  @Argument(help: "Batch id.") var id: String

  func run() async throws {
    let request = Easel_V1_GetBatchRequest.with {
      $0.platform = account.platformName
      $0.userID = account.userID
      $0.batchID = id
    }
    let batch = try await connection.withClients { try await $0.tasks.getBatch(request, metadata: $0.metadata) }
    print(connection.json ? try FullJSON.string(batch) : TextOutput.batch(batch))
  }
}

struct WatchBatch: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "watch", abstract: "Follow a batch's tasks until all have ended.",
    discussion: "Example: easel batch watch BATCH_ID --user alice")

  @OptionGroup var connection: ConnectionOptions
  @OptionGroup var account: AccountOptions
  @Argument(help: "Batch id.") var id: String

  func run() async throws {
    let request = Easel_V1_StreamTaskUpdatesRequest.with {
      $0.platform = account.platformName
      $0.userID = account.userID
      $0.batchID = id
    }
    let json = connection.json
    try await connection.withClients { clients in
      try await clients.tasks.streamTaskUpdates(request, metadata: clients.metadata) { response in
        for try await update in response.messages {
          let task = update.task
          print(
            json
              ? try FullJSON.string(update)
              : "\(task.id)  \(TextOutput.status(task.status))  \(Int((task.progress * 100).rounded()))%")
          fflush(nil)
        }
      }
    }
  }
}

struct CancelBatch: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cancel", abstract: "Cancel every task of a batch that has not ended, releasing its credits.",
    discussion: "Example: easel batch cancel BATCH_ID --user alice")

  @OptionGroup var connection: ConnectionOptions
  @OptionGroup var account: AccountOptions
  @Argument(help: "Batch id.") var id: String

  func run() async throws {
    let request = Easel_V1_CancelBatchRequest.with {
      $0.platform = account.platformName
      $0.userID = account.userID
      $0.batchID = id
    }
    let batch = try await connection.withClients { try await $0.tasks.cancelBatch(request, metadata: $0.metadata) }
    print(connection.json ? try FullJSON.string(batch) : TextOutput.batch(batch))
  }
}
