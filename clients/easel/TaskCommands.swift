import ArgumentParser
import EaselRPC
import Foundation
import GRPCCore
import SwiftProtobuf

struct Create: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Create a generation task (its credits are held until it ends).",
    discussion: """
      Examples:
        easel create --template txt2img --user alice --prompt "a lighthouse at dusk" --param width=768 --wait
        easel create --template img2img --user alice --prompt "as a watercolour" --input photo.jpg
      --param values true/false and numbers are sent as such; quote a value ('k="123"') to send it as text.
      """)

  @OptionGroup var connection: ConnectionOptions
  @OptionGroup var account: AccountOptions
  @OptionGroup var task: TaskRequestOptions

  @Option(help: "Retrying with the same key returns the same task and charges once.")
  var idempotencyKey: String?

  @Option(help: "Receives a signed POST (Standard Webhooks) when the task ends.")
  var webhookURL: String?

  @Flag(help: "With --webhook-url: also POST when processing starts.")
  var webhookOnStart = false

  @Option(
    help: """
      With --webhook-url: an event to POST (repeat it): started, progress, preview, completed, failed, \
      canceled or expired; by default the last four.
      """)
  var webhookEvent: [String] = []

  @Flag(help: "Follow the task until it ends; exit non-zero unless it COMPLETED.")
  var wait = false

  func run() async throws {
    var request = try task.request(for: account)
    request.idempotencyKey = idempotencyKey ?? ""
    request.webhookURL = webhookURL ?? ""
    request.webhookOnStart = webhookOnStart
    request.webhookEvents = webhookEvent
    let json = connection.json
    let finalTask = try await connection.withClients { clients in
      let task = try await clients.tasks.createTask(request, metadata: clients.metadata)
      guard wait else {
        print(json ? try FullJSON.string(task) : TextOutput.task(task))
        return task
      }
      if !json {
        print("created task \(task.id) (\(task.creditCost) credits held); waiting…")
        fflush(nil)
      }
      return try await follow(
        clients, platform: task.platform, userID: task.userID, taskID: task.id, json: json, printFinal: true)
    }
    if wait, finalTask.status != .completed { throw ExitCode(1) }
  }
}

/// What a task request is made of, for `create` and `quote`.
struct TaskRequestOptions: ParsableArguments {
  @Option(help: "Template code (see `easel templates`).")
  var template: String

  @Option(help: "The prompt (sets the `prompt` parameter).")
  var prompt: String?

  @Option(name: .customLong("param"), help: "A template parameter as NAME=VALUE; repeatable.")
  var parameters: [String] = []

  @Option(help: "An input image file (JPEG, PNG or WebP).")
  var input: String?

  @Option(help: "0 (lowest) to 9 (highest); 5 when left out. Above the API key's maximum is refused.")
  var priority: Int32?

  @Option(help: "The longest the task may wait to start, e.g. 500ms, 15s, 2m; past it, it ends EXPIRED, uncharged.")
  var startWithin: String?

  @Option(help: "Refuse the task if its estimated wait is longer, e.g. 30s.")
  var maxWait: String?

  @Option(help: "Keep its artifacts this long after it ends, e.g. 1h or 2d; shorter than the platform's retention.")
  var retention: String?

  @Option(help: "How many images (or videos) to make, 1 to the template's max_outputs; the price is per output.")
  var numOutputs: Int32?

  func request(for account: AccountOptions) throws -> Easel_V1_CreateTaskRequest {
    var request = Easel_V1_CreateTaskRequest()
    request.platform = account.platformName
    request.userID = account.userID
    request.templateCode = template
    request.parameters = try parseParameters(parameters, prompt: prompt)
    if let input { request.inputImage = try Data(contentsOf: URL(fileURLWithPath: input)) }
    if let priority { request.priority = priority }
    if let startWithin { request.startWithinMs = try milliseconds(startWithin, option: "--start-within") }
    if let maxWait { request.maxWaitMs = try milliseconds(maxWait, option: "--max-wait") }
    if let retention { request.retentionMs = try milliseconds(retention, option: "--retention") }
    if let numOutputs { request.numOutputs = numOutputs }
    return request
  }
}

struct Quote: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "What a task would cost and where it would stand in the queue; creates nothing.",
    discussion: "Example: easel quote --template txt2img --user alice --prompt \"a lighthouse\" --param quality=high")

  @OptionGroup var connection: ConnectionOptions
  @OptionGroup var account: AccountOptions
  @OptionGroup var task: TaskRequestOptions

  func run() async throws {
    let request = try task.request(for: account)
    let quote = try await connection.withClients { try await $0.tasks.quoteTask(request, metadata: $0.metadata) }
    print(connection.json ? try FullJSON.string(quote) : TextOutput.quote(quote))
  }
}

/// `500ms`, `15s`, `2m`, `1h`, `7d` or a number of milliseconds.
func milliseconds(_ text: String, option: String) throws -> Int64 {
  let units: [(suffix: String, factor: Double)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
  let (number, factor) = units.first { text.hasSuffix($0.suffix) }.map { (String(text.dropLast($0.suffix.count)), $0.factor) }
    ?? (text, 1)
  guard let value = Double(number), value > 0 else {
    throw ValidationError("\(option) \(text) is not a duration like 500ms, 15s, 2m, 1h or 7d")
  }
  return Int64((value * factor).rounded())
}

/// Parses NAME=VALUE pairs into a protobuf Struct, inferring booleans and numbers.
func parseParameters(_ pairs: [String], prompt: String?) throws -> Google_Protobuf_Struct {
  var parameters = Google_Protobuf_Struct()
  for pair in pairs {
    guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
      throw ValidationError("--param \(pair) is not NAME=VALUE")
    }
    let name = String(pair[..<equals])
    let text = String(pair[pair.index(after: equals)...])
    parameters.fields[name] =
      if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") {
        Google_Protobuf_Value(stringValue: String(text.dropFirst().dropLast()))
      } else if let flag = Bool(text) {
        Google_Protobuf_Value(boolValue: flag)
      } else if let number = Double(text) {
        Google_Protobuf_Value(numberValue: number)
      } else {
        Google_Protobuf_Value(stringValue: text)
      }
  }
  if let prompt { parameters.fields["prompt"] = Google_Protobuf_Value(stringValue: prompt) }
  return parameters
}

struct Get: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show one task.", discussion: "Example: easel get 3f2c9a1e-… --user alice --json")

  @OptionGroup var connection: ConnectionOptions
  @OptionGroup var account: AccountOptions
  @Argument(help: "Task id.") var id: String

  func run() async throws {
    let request = Easel_V1_GetTaskRequest.with {
      $0.platform = account.platformName
      $0.userID = account.userID
      $0.taskID = id
    }
    let task = try await connection.withClients { try await $0.tasks.getTask(request, metadata: $0.metadata) }
    print(connection.json ? try FullJSON.string(task) : TextOutput.task(task))
  }
}

struct List: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "List a user's tasks, newest first.",
    discussion: """
      Examples: easel list --user alice; easel list --user alice --status failed --page 2 --limit 20; \
      easel list --user alice --page-token TOKEN (the next page, as the last listing printed it)
      """)

  @OptionGroup var connection: ConnectionOptions
  @OptionGroup var account: AccountOptions
  @Option(help: "Page, from 1.") var page: Int32 = 1
  @Option(help: "Tasks per page, 1 to 100.") var limit: Int32 = 10
  @Option(help: "The page after the last listing (its \"next page\" token); as fast however deep.") var pageToken: String?
  @Option(help: "Only tasks in this status: pending, processing, completed, failed, canceled or expired.")
  var status: String?
  @Option(help: "Only the tasks of this batch (see `easel batch`).") var batch: String?

  func run() async throws {
    var request = Easel_V1_ListTasksRequest()
    request.platform = account.platformName
    request.userID = account.userID
    request.batchID = batch ?? ""
    request.page = pageToken == nil ? page : 0
    request.limit = limit
    request.pageToken = pageToken ?? ""
    if let status {
      let statuses: [String: Easel_V1_TaskStatus] = [
        "pending": .pending, "processing": .processing, "completed": .completed, "failed": .failed, "canceled": .canceled, "expired": .expired,
      ]
      guard let value = statuses[status.lowercased()] else {
        throw ValidationError("--status \(status) is not one of pending, processing, completed, failed, canceled, expired")
      }
      request.status = value
    }
    let response = try await connection.withClients { try await $0.tasks.listTasks(request, metadata: $0.metadata) }
    print(connection.json ? try FullJSON.string(response) : TextOutput.list(response))
  }
}

struct Watch: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Follow live updates of one task, or of every task of the user.",
    discussion: "Examples: easel watch TASK_ID --user alice; easel watch --user alice --json | jq .task.status")

  @OptionGroup var connection: ConnectionOptions
  @OptionGroup var account: AccountOptions
  @Argument(help: "Task id; leave out to follow all of the user's tasks.") var id: String?
  @Option(help: "Save each live preview the tasks show in this folder, as TASK_ID-STEP.jpg.") var preview: String?

  func run() async throws {
    let json = connection.json
    let platform = account.platformName
    let userID = account.userID
    let folder = preview.map { URL(fileURLWithPath: $0, isDirectory: true) }
    if let folder { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
    try await connection.withClients { clients in
      _ = try await follow(
        clients, platform: platform, userID: userID, taskID: id ?? "", json: json, printFinal: false, previews: folder)
    }
  }
}

struct Cancel: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Cancel a task and release its credits.", discussion: "Example: easel cancel TASK_ID --user alice")

  @OptionGroup var connection: ConnectionOptions
  @OptionGroup var account: AccountOptions
  @Argument(help: "Task id.") var id: String

  func run() async throws {
    let request = Easel_V1_CancelTaskRequest.with {
      $0.platform = account.platformName
      $0.userID = account.userID
      $0.taskID = id
    }
    let task = try await connection.withClients { try await $0.tasks.cancelTask(request, metadata: $0.metadata) }
    print(connection.json ? try FullJSON.string(task) : TextOutput.task(task))
  }
}

struct Pin: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Keep a task's artifacts past its retention (until unpinned).",
    discussion: "Examples: easel pin TASK_ID --user alice; easel pin TASK_ID --user alice --undo")

  @OptionGroup var connection: ConnectionOptions
  @OptionGroup var account: AccountOptions
  @Argument(help: "Task id.") var id: String
  @Flag(help: "Unpin: the artifacts go when the retention ends.") var undo = false

  func run() async throws {
    let task = try await connection.withClients { clients in
      if undo {
        let request = Easel_V1_UnpinTaskRequest.with {
          $0.platform = account.platformName
          $0.userID = account.userID
          $0.taskID = id
        }
        return try await clients.tasks.unpinTask(request, metadata: clients.metadata)
      }
      let request = Easel_V1_PinTaskRequest.with {
        $0.platform = account.platformName
        $0.userID = account.userID
        $0.taskID = id
      }
      return try await clients.tasks.pinTask(request, metadata: clients.metadata)
    }
    print(connection.json ? try FullJSON.string(task) : TextOutput.task(task))
  }
}

struct Download: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Save a task's output (or its thumbnail or input) to a file.",
    discussion: "Example: easel download TASK_ID --user alice -o result.png")

  @OptionGroup var connection: ConnectionOptions
  @OptionGroup var account: AccountOptions
  @Argument(help: "Task id.") var id: String
  @Flag(help: "The 200×200 JPEG thumbnail instead of the output.") var thumbnail = false
  @Flag(help: "The stored input image instead of the output.") var input = false
  @Option(help: "Which output of a task with several (or its thumbnail), from 0.") var index: Int32 = 0
  @Option(name: .shortAndLong, help: "File to write.") var output: String

  func validate() throws {
    if thumbnail && input { throw ValidationError("choose one of --thumbnail and --input") }
    if input && index != 0 { throw ValidationError("--index picks an output or its thumbnail, not the input") }
  }

  func run() async throws {
    let (platform, userID, id) = (account.platformName, account.userID, id)
    let kind: Easel_V1_ArtifactKind = thumbnail ? .thumbnail : input ? .input : .output
    let (bytes, contentType) = try await connection.withClients { clients in
      try await fetchArtifact(clients, platform: platform, userID: userID, taskID: id, kind: kind, index: index)
    }
    try bytes.write(to: URL(fileURLWithPath: output), options: .atomic)
    if connection.json {
      let saved: [String: Any] = ["path": output, "bytes": bytes.count, "content_type": contentType]
      let data = try JSONSerialization.data(withJSONObject: saved, options: [.sortedKeys, .withoutEscapingSlashes])
      print(String(decoding: data, as: UTF8.self))
    } else {
      print("saved \(bytes.count) bytes of \(contentType) to \(output)")
    }
  }
}
