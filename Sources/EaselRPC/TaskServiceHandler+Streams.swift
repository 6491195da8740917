import EaselCore
import GRPCCore

/// StreamTaskUpdates. A stream's frames stay allocated for as long as it is open (10,000 open
/// streams are a benchmark figure), so the request is worked out in synchronous code, whose
/// temporaries live on the thread's stack, and each update is sent from a call of its own.
extension TaskServiceHandler {
  /// What a StreamTaskUpdates request follows.
  enum UpdateSource {
    case tasks(TaskUpdateStream)
    case batch(BatchUpdateStream)
  }

  public func streamTaskUpdates(
    request: Easel_V1_StreamTaskUpdatesRequest, response: RPCWriter<Easel_V1_TaskUpdate>, context: ServerContext
  ) async throws {
    try await mappingErrors("StreamTaskUpdates", context: context, logger: logger) {
      switch try updateSource(request) {
      case .tasks(let stream): try await follow(stream, to: response)
      case .batch(let stream): try await follow(stream, to: response)
      }
    }
  }

  func updateSource(_ request: Easel_V1_StreamTaskUpdatesRequest) throws -> UpdateSource {
    try Caller.current.require(.readTasks)
    if !request.batchID.isEmpty {
      guard request.taskID.isEmpty, request.resumeToken.isEmpty, request.afterSequence == 0 else {
        throw EaselError.invalidArgument("batch_id is followed alone: leave task_id, resume_token and after_sequence unset")
      }
      let account = try authorized(.readTasks, platform: request.platform, userID: request.userID)
      return .batch(manager.batchStream(id: request.batchID, account: account))
    }
    let taskID = request.taskID.isEmpty ? nil : request.taskID
    let scope = try Caller.current.updateScope(platform: request.platform, userID: request.userID)
    if taskID != nil, case .platform = scope { throw EaselError.invalidArgument("user_id is required with task_id") }
    var token: TaskUpdateStream.ResumeToken?
    if !request.resumeToken.isEmpty {
      guard taskID == nil else {
        throw EaselError.invalidArgument("resume_token is for user and platform streams; use after_sequence with task_id")
      }
      guard let parsed = TaskUpdateStream.ResumeToken(request.resumeToken) else {
        throw EaselError.invalidArgument("resume_token \(request.resumeToken) is not a token this server gave out")
      }
      token = parsed
    }
    return .tasks(
      manager.updateStream(scope: scope, taskID: taskID, afterSequence: request.afterSequence, resumeToken: token))
  }

  private func follow(_ stream: TaskUpdateStream, to response: RPCWriter<Easel_V1_TaskUpdate>) async throws {
    try await untilCallerLeaves { departure in
      var counts = QueueCountBudget()
      try await stream.run(until: departure) { task, resumeToken in
        try await send(task, resumeToken: resumeToken, counting: counts.take(), to: response)
      }
    }
  }

  /// The batch's tasks until all have ended.
  private func follow(_ stream: BatchUpdateStream, to response: RPCWriter<Easel_V1_TaskUpdate>) async throws {
    try await untilCallerLeaves { departure in
      var counts = QueueCountBudget()
      try await stream.run(until: departure) { task in
        try await send(task, resumeToken: "", counting: counts.take(), to: response)
      }
    }
  }

  private func send(
    _ task: GenerationTask, resumeToken: String, counting: Bool, to response: RPCWriter<Easel_V1_TaskUpdate>
  ) async throws {
    let message = await messageWithQueue(task, counting: counting, waitingAtMost: Self.streamCountWait)
    try await response.write(.with {
      $0.sequence = task.sequence
      $0.task = message
      $0.resumeToken = resumeToken
      $0.previewStep = UInt32(clamping: task.previewStep)
    })
  }
}

/// Runs a long call, telling it through a `CallerDeparture` when its caller goes away.
func untilCallerLeaves(_ body: (CallerDeparture) async throws -> Void) async throws {
  let departure = CallerDeparture()
  try await withRPCCancellationHandler {
    try await body(departure)
  } onCancelRPC: {
    departure.leave()
  }
}
