import Foundation
import EaselCore
import GRPCCore
import Logging
import SwiftProtobuf

/// `easel.v1.TaskService`.
public struct TaskServiceHandler: Easel_V1_TaskService.SimpleServiceProtocol {
  static let artifactChunkSize = 1 << 20

  let manager: TaskManager
  let logger: Logger

  public init(manager: TaskManager, logger: Logger) {
    self.manager = manager
    self.logger = logger
  }

  /// The wire form of a task, with direct download URLs when the artifact store has them. Not
  /// inlined, so its temporaries stay on the thread's stack, out of the calling RPC's frame.
  @inline(never)
  private func message(_ task: GenerationTask) -> Easel_V1_Task {
    Easel_V1_Task(task, links: manager.downloadURL(key:))
  }

  /// The wire form of a task, and where it stands in the queue while PENDING.
  /// The task with its queue position and estimated start while PENDING; `counting: false`
  /// gives them only if known (cached), without counting the queue.
  func messageWithQueue(_ task: GenerationTask, counting: Bool = true, waitingAtMost limit: Duration? = nil) async
    -> Easel_V1_Task
  {
    var message = message(task)
    if let queue = await manager.queueEstimate(of: task, counting: counting, waitingAtMost: limit) { message.queue = queue }
    return message
  }

  /// How long a stream update waits for its queue count (a count still running then is kept for
  /// later calls).
  static let streamCountWait: Duration = .milliseconds(10)

  /// What CreateTask and QuoteTask take from a request; in a batch, its tasks take the batch's
  /// platform and user unless they name them.
  private func order(
    _ request: Easel_V1_CreateTaskRequest, action: Caller.Action, batch: Easel_V1_CreateBatchRequest? = nil
  ) throws -> TaskOrder {
    let account = try authorized(
      action, platform: request.platform.isEmpty ? batch?.platform ?? "" : request.platform,
      userID: request.userID.isEmpty ? batch?.userID ?? "" : request.userID)
    guard !request.templateCode.isEmpty else { throw EaselError.invalidArgument("template_code is required") }
    var order = TaskOrder(
      account: account, templateCode: request.templateCode, parameters: try Parameters(request.parameters),
      inputImage: request.inputImage.isEmpty ? nil : Array(request.inputImage))
    order.idempotencyKey = request.idempotencyKey
    let events = try WebhookRequest.events(named: request.webhookEvents)
    if request.webhookURL.isEmpty {
      guard events.isEmpty, !request.webhookOnStart else {
        throw EaselError.invalidArgument("webhook_events and webhook_on_start need a webhook_url")
      }
    } else {
      order.webhook = WebhookRequest(url: request.webhookURL, onStart: request.webhookOnStart, chosen: events)
    }
    order.priority = request.hasPriority ? Int(request.priority) : nil
    order.startWithinMs = request.startWithinMs
    order.maxWaitMs = request.maxWaitMs
    order.retentionMs = request.retentionMs
    order.numOutputs = Int(request.numOutputs)
    return order
  }

  public func createTask(request: Easel_V1_CreateTaskRequest, context: ServerContext) async throws -> Easel_V1_Task {
    try await mappingErrors("CreateTask", context: context, logger: logger) {
      let task = try await manager.createTask(try order(request, action: .createTasks), caller: Caller.current)
      return message(task)
    }
  }

  public func quoteTask(request: Easel_V1_CreateTaskRequest, context: ServerContext) async throws
    -> Easel_V1_QuoteTaskResponse
  {
    try await mappingErrors("QuoteTask", context: context, logger: logger) {
      let quote = try await manager.quote(try order(request, action: .createTasks), caller: Caller.current)
      return .with {
        $0.creditCost = quote.creditCost
        $0.queuePosition = Int32(clamping: quote.queue.position)
        if let start = quote.queue.estimatedStart { $0.estimatedStartAt = Google_Protobuf_Timestamp(date: start) }
        $0.covered = quote.covered
        $0.available = quote.available
      }
    }
  }

  public func getTask(request: Easel_V1_GetTaskRequest, context: ServerContext) async throws -> Easel_V1_Task {
    try await mappingErrors("GetTask", context: context, logger: logger) {
      let account = try authorized(.readTasks, platform: request.platform, userID: request.userID)
      return await messageWithQueue(try await manager.task(id: request.taskID, account: account))
    }
  }

  public func listTasks(request: Easel_V1_ListTasksRequest, context: ServerContext) async throws
    -> Easel_V1_ListTasksResponse
  {
    try await mappingErrors("ListTasks", context: context, logger: logger) {
      let account = try authorized(.readTasks, platform: request.platform, userID: request.userID)
      let pageRequest = try PageRequest(page: request.page, limit: request.limit, pageToken: request.pageToken)
      let status = TaskStatus(request.status)
      let page =
        request.batchID.isEmpty
        ? try await manager.tasks(of: account, status: status, page: pageRequest)
        : try await manager.tasks(inBatch: request.batchID, account: account, status: status, page: pageRequest)
      return .with {
        $0.tasks = page.items.map(message)
        $0.total = page.total
        $0.page = pageRequest.after == nil ? pageRequest.page : 0
        $0.limit = pageRequest.limit
        $0.totalPages = page.totalPages
        $0.nextPageToken = page.next?.token ?? ""
      }
    }
  }

  public func cancelTask(request: Easel_V1_CancelTaskRequest, context: ServerContext) async throws -> Easel_V1_Task {
    try await mappingErrors("CancelTask", context: context, logger: logger) {
      let account = try authorized(.cancelTasks, platform: request.platform, userID: request.userID)
      return message(try await manager.cancelTask(id: request.taskID, account: account))
    }
  }

  public func pinTask(request: Easel_V1_PinTaskRequest, context: ServerContext) async throws -> Easel_V1_Task {
    try await mappingErrors("PinTask", context: context, logger: logger) {
      let account = try authorized(.cancelTasks, platform: request.platform, userID: request.userID)
      return message(try await manager.pinTask(id: request.taskID, account: account, pinned: true))
    }
  }

  public func unpinTask(request: Easel_V1_UnpinTaskRequest, context: ServerContext) async throws -> Easel_V1_Task {
    try await mappingErrors("UnpinTask", context: context, logger: logger) {
      let account = try authorized(.cancelTasks, platform: request.platform, userID: request.userID)
      return message(try await manager.pinTask(id: request.taskID, account: account, pinned: false))
    }
  }

  public func createBatch(request: Easel_V1_CreateBatchRequest, context: ServerContext) async throws -> Easel_V1_Batch {
    try await mappingErrors("CreateBatch", context: context, logger: logger) {
      let account = try authorized(.createTasks, platform: request.platform, userID: request.userID)
      var tasks: [TaskOrder] = []
      for (index, task) in request.tasks.enumerated() {
        do {
          tasks.append(try order(task, action: .createTasks, batch: request))
        } catch var error as EaselError {
          error.message = "tasks[\(index)]: \(error.message)"
          throw error
        }
      }
      var order = BatchOrder(account: account, tasks: tasks)
      order.idempotencyKey = request.idempotencyKey
      return Easel_V1_Batch(try await manager.createBatch(order, caller: Caller.current))
    }
  }

  public func getBatch(request: Easel_V1_GetBatchRequest, context: ServerContext) async throws -> Easel_V1_Batch {
    try await mappingErrors("GetBatch", context: context, logger: logger) {
      let account = try authorized(.readTasks, platform: request.platform, userID: request.userID)
      return Easel_V1_Batch(try await manager.batch(id: request.batchID, account: account))
    }
  }

  public func cancelBatch(request: Easel_V1_CancelBatchRequest, context: ServerContext) async throws -> Easel_V1_Batch {
    try await mappingErrors("CancelBatch", context: context, logger: logger) {
      let account = try authorized(.cancelTasks, platform: request.platform, userID: request.userID)
      return Easel_V1_Batch(try await manager.cancelBatch(id: request.batchID, account: account))
    }
  }

  public func fetchArtifact(
    request: Easel_V1_FetchArtifactRequest, response: RPCWriter<Easel_V1_ArtifactChunk>, context: ServerContext
  ) async throws {
    try await mappingErrors("FetchArtifact", context: context, logger: logger) {
      let account = try authorized(.readTasks, platform: request.platform, userID: request.userID)
      let kind = try ArtifactKind(request.kind)
      guard request.outputIndex >= 0 else { throw EaselError.invalidArgument("output_index must be 0 or more") }
      let artifact = try await manager.artifact(
        kind, index: Int(request.outputIndex), taskID: request.taskID, account: account)
      var offset = 0
      repeat {
        let end = min(offset + Self.artifactChunkSize, artifact.bytes.count)
        try await response.write(.with {
          $0.contentType = artifact.contentType
          $0.totalSize = Int64(artifact.bytes.count)
          $0.data = Data(artifact.bytes[offset..<end])
        })
        offset = end
      } while offset < artifact.bytes.count
    }
  }
}
