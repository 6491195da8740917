import EaselCore
import EaselImaging
import EaselModels
import EaselRPC
import EaselServer
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

/// Issue 22, part 1: several outputs per task (`num_outputs`) and batches (`CreateBatch`), through a
/// real server, real model fakes and a real store; every run ends with the credit audit.
@Suite(.timeLimit(.minutes(3))) struct OutputsAndBatchesTests {
  let imaging = try! VipsImageProcessor()

  func createWithOutputs(
    _ server: TestServer, _ user: String, _ count: Int32, template: String = "txt2img", prompt: String = "a red fox",
    parameters: [String: Google_Protobuf_Value] = [:]
  ) async throws -> Easel_V1_Task {
    try await server.tasks.createTask(.with {
      $0.userID = user
      $0.templateCode = template
      $0.parameters.fields = parameters
      $0.parameters.fields["prompt"] = Google_Protobuf_Value(stringValue: prompt)
      $0.numOutputs = count
    })
  }

  func output(_ server: TestServer, _ user: String, _ id: String, _ index: Int32, kind: Easel_V1_ArtifactKind = .output)
    async throws -> (Data, String)
  {
    try await server.tasks.fetchArtifact(.with {
      $0.userID = user
      $0.taskID = id
      $0.kind = kind
      $0.outputIndex = index
    }) { response in
      var data = Data()
      var type = ""
      for try await chunk in response.messages {
        data.append(chunk.data)
        type = chunk.contentType
      }
      return (data, type)
    }
  }

  /// Each output and its thumbnail are fetchable by index, distinct, and what they claim to be.
  func expectDistinctOutputs(_ server: TestServer, _ user: String, _ task: Easel_V1_Task, count: Int) async throws {
    #expect(task.outputs.count == count && task.numOutputs == Int32(count))
    var seen = Set<Data>()
    for index in 0..<count {
      let (bytes, type) = try await output(server, user, task.id, Int32(index))
      #expect(type == task.outputs[index].contentType && !bytes.isEmpty)
      seen.insert(bytes)
      let (thumbnail, thumbnailType) = try await output(server, user, task.id, Int32(index), kind: .thumbnail)
      #expect(thumbnailType == "image/jpeg" && ImageFormat.sniff(Array(thumbnail)) == .jpeg)
    }
    #expect(seen.count == count, "every output is its own image")
    #expect(task.outputURL == task.outputs[0].url && task.thumbnailURL == task.outputs[0].thumbnailURL)
    let beyond = await rpcError { try await output(server, user, task.id, Int32(count)) }
    #expect(beyond?.code == .notFound)
  }

  @Test func fourOutputsFromTheProceduralBackendArePricedPerOutput() async throws {
    try await withTestServer { server in
      try await server.grant("po", 100)
      let task = try await createWithOutputs(server, "po", 4)
      #expect(task.creditCost == 40 && task.numOutputs == 4)
      let done = try await server.finished("po", task.id)
      #expect(done.status == .completed, "\(done.errorCode): \(done.errorMessage)")
      try await expectDistinctOutputs(server, "po", done, count: 4)
      #expect(try await server.balance("po").balance == 60)
    }
  }

  /// The WebUI makes all four in one job (`batch_size`), as one slot of one server.
  @Test func fourOutputsFromTheWebUIComeFromOneBatchJob() async throws {
    let webui = try FakeWebUI(stepSeconds: 0.01)
    try await withTestServer(automatic1111: FleetTests.settings([webui.endpoint])) { server in
      try await server.grant("wu", 100)
      let task = try await createWithOutputs(server, "wu", 4)
      let done = try await server.finished("wu", task.id)
      #expect(done.status == .completed, "\(done.errorCode): \(done.errorMessage)")
      try await expectDistinctOutputs(server, "wu", done, count: 4)
      #expect(try await webui.stats().started.count == 1)
      #expect(try await server.balance("wu").balance == 60)
    }
  }

  /// ComfyUI gets the count through the workflow's batch_size binding and saves one file per image.
  @Test func threeOutputsFromComfyUIComeFromOnePrompt() async throws {
    let comfy = try FakeComfyUI()
    try await withTestServer(configure: ComfyUITests.configure(comfy)) { server in
      try await server.grant("cb", 100)
      let task = try await createWithOutputs(server, "cb", 3, template: "comfyui_txt2img")
      let done = try await server.finished("cb", task.id)
      #expect(done.status == .completed, "\(done.errorCode): \(done.errorMessage)")
      try await expectDistinctOutputs(server, "cb", done, count: 3)
      let stats = try await comfy.stats()
      #expect(stats.started.count == 1)
      #expect(stats.prompts.last?["5"]?["inputs"]?["batch_size"] == .integer(3))
    }
  }

  /// A backend that returns 3 of the 4 outputs paid for: the fourth's price goes back, and the
  /// ledger shows the capture of three and the release of one.
  @Test func aMissingOutputIsReleasedNotCharged() async throws {
    let fake = try FakeModelServer()
    let images = try (0..<3).map { index in
      FakeModelServer.JSONValue.object([
        "b64_json": .string(
          Data(try imaging.png(rgb: [UInt8](repeating: UInt8(40 + index * 30), count: 4 * 4 * 3), width: 4, height: 4))
            .base64EncodedString())
      ])
    }
    try await fake.script("/v1/images/generations", [.init(json: ["data": .array(images)])])
    let settings = OpenAIImagesBackend.Settings(url: fake.url, apiKey: "sk", model: "gpt-image-1", timeout: .seconds(20))
    try await withTestServer(openAIImages: settings) { server in
      try await server.grant("mo", 100)
      let task = try await createWithOutputs(server, "mo", 4)
      let done = try await server.finished("mo", task.id)
      #expect(done.status == .completed && done.outputs.count == 3 && done.numOutputs == 4)
      #expect(try await fake.requests("/v1/images/generations").first?.json?["n"] == .number(4))
      let balance = try await server.balance("mo")
      #expect(balance.balance == 70 && balance.held == 0)
      let ledger = try await server.ledger("mo").filter { $0.taskID == task.id }
      #expect(ledger.contains { $0.kind == "CAPTURE" && $0.amount == 30 })
      #expect(ledger.contains { $0.kind == "RELEASE" && $0.amount == 10 && $0.reason == LedgerReason.outputsMissing })
    }
  }

  @Test func numOutputsOutsideTheTemplatesLimitIsRefused() async throws {
    try await withTestServer { server in
      try await server.grant("lim", 1000)
      for count: Int32 in [5, 9, -1] {
        let error = await rpcError { try await createWithOutputs(server, "lim", count) }
        #expect(error?.code == .invalidArgument && error?.message.contains("num_outputs must be 1 to 4") == true, "\(count)")
      }
      let template = try await server.templates.getTemplate(.with { $0.code = "txt2img" })
      #expect(template.maxOutputs == 4)
      #expect(try await server.balance("lim").held == 0)
    }
  }

  /// The WebUI's safety checker flagging every image fails the task `content_blocked`, uncharged.
  @Test func anOutputFlaggedByTheWebUIFailsTheTaskUncharged() async throws {
    let webui = try FakeWebUI(stepSeconds: 0.01)
    try await withTestServer(automatic1111: FleetTests.settings([webui.endpoint])) { server in
      try await server.grant("ns", 50)
      let task = try await server.create("ns", prompt: "[unsafe] something the checker flags")
      let done = try await server.finished("ns", task.id)
      #expect(done.status == .failed && done.errorCode == "content_blocked", "\(done.errorCode): \(done.errorMessage)")
      #expect(try await server.balance("ns").balance == 50)
    }
  }

  // MARK: Batches

  func batchRequest(_ user: String, prompts: [String], key: String = "") -> Easel_V1_CreateBatchRequest {
    .with {
      $0.userID = user
      $0.idempotencyKey = key
      $0.tasks = prompts.map { prompt in
        .with {
          $0.templateCode = "txt2img"
          $0.parameters.fields["prompt"] = Google_Protobuf_Value(stringValue: prompt)
        }
      }
    }
  }

  func batchTasks(_ server: TestServer, _ user: String, _ batchID: String) async throws -> Easel_V1_ListTasksResponse {
    try await server.tasks.listTasks(.with {
      $0.userID = user
      $0.batchID = batchID
      $0.limit = 100
    })
  }

  @Test func aBatchWithOneInvalidRequestCreatesNothing() async throws {
    try await withTestServer { server in
      try await server.grant("bi", 10_000)
      var request = batchRequest("bi", prompts: (0..<50).map { "tile \($0)" })
      request.tasks[17].parameters.fields["width"] = Google_Protobuf_Value(numberValue: 5)
      let error = await rpcError { try await server.tasks.createBatch(request) }
      #expect(error?.code == .invalidArgument && error?.message.hasPrefix("tasks[17]: ") == true, "\(String(describing: error))")
      let valid = await rpcError { try await server.tasks.createBatch(batchRequest("bi", prompts: (0..<50).map { "t\($0)" })) }
      #expect(valid == nil)
      let tooMany = await rpcError { try await server.tasks.createBatch(batchRequest("bi", prompts: (0..<101).map { "t\($0)" })) }
      #expect(tooMany?.code == .invalidArgument)
      let list = try await server.tasks.listTasks(.with { $0.userID = "bi"; $0.limit = 100 })
      #expect(list.total == 50, "only the valid batch's tasks exist")
    }
  }

  @Test func aBatchTheCreditsCannotCoverCreatesNothing() async throws {
    try await withTestServer { server in
      try await server.grant("bp", 45)  // four tasks of 10 fit, five don't
      let error = await rpcError { try await server.tasks.createBatch(batchRequest("bp", prompts: (0..<5).map { "p\($0)" })) }
      #expect(error?.code == .failedPrecondition, "\(String(describing: error))")
      let balance = try await server.balance("bp")
      #expect(balance.held == 0 && balance.balance == 45)
      #expect(try await server.tasks.listTasks(.with { $0.userID = "bp" }).total == 0)
    }
  }

  @Test func aBatchIsHeldAtOnceFollowedToItsEndAndSummarised() async throws {
    try await withTestServer(workers: 2, proceduralDelay: .milliseconds(50)) { server in
      try await server.grant("bf", 100)
      let created = try await server.tasks.createBatch(batchRequest("bf", prompts: (0..<5).map { "b\($0)" }, key: "nightly-1"))
      #expect(created.taskIds.count == 5 && created.summary.total == 5)
      let again = try await server.tasks.createBatch(batchRequest("bf", prompts: (0..<5).map { "b\($0)" }, key: "nightly-1"))
      #expect(again.id == created.id && again.taskIds == created.taskIds, "a retry returns the first batch")
      let reused = await rpcError {
        try await server.tasks.createBatch(batchRequest("bf", prompts: ["other"], key: "nightly-1"))
      }
      #expect(reused?.code == .invalidArgument)
      let updates = try await server.tasks.streamTaskUpdates(.with {
        $0.userID = "bf"
        $0.batchID = created.id
      }) { response in
        var seen: [Easel_V1_TaskUpdate] = []
        for try await update in response.messages { seen.append(update) }
        return seen
      }
      let ended = Dictionary(grouping: updates.map(\.task).filter { $0.status == .completed }, by: \.id)
      #expect(Set(ended.keys) == Set(created.taskIds), "the stream ends once every task has ended")
      #expect(updates.allSatisfy { $0.task.batchID == created.id })
      let listed = try await batchTasks(server, "bf", created.id)
      #expect(listed.total == 5 && Set(listed.tasks.map(\.id)) == Set(created.taskIds))
      let summary = try await server.tasks.getBatch(.with { $0.userID = "bf"; $0.batchID = created.id }).summary
      #expect(summary.completed == 5 && summary.creditsCaptured == 50 && summary.creditsHeld == 0)
      #expect(try await server.balance("bf").balance == 50)
      let stranger = await rpcError { try await server.tasks.getBatch(.with { $0.userID = "other"; $0.batchID = created.id }) }
      #expect(stranger?.code == .notFound)
    }
  }

  @Test func aBatchCanceledHalfwayChargesOnlyWhatFinished() async throws {
    try await withTestServer(workers: 1, proceduralDelay: .milliseconds(300)) { server in
      try await server.grant("bc", 100)
      let batch = try await server.tasks.createBatch(batchRequest("bc", prompts: (0..<8).map { "c\($0)" }))
      #expect(try await server.balance("bc").held == 80)
      try await waitUntil(within: .seconds(30)) {
        try await server.tasks.getBatch(.with { $0.userID = "bc"; $0.batchID = batch.id }).summary.completed >= 2
      }
      let canceled = try await server.tasks.cancelBatch(.with { $0.userID = "bc"; $0.batchID = batch.id })
      #expect(canceled.summary.canceled >= 4, "the waiting tasks end at once")
      try await waitUntil(within: .seconds(15)) {
        let summary = try await server.tasks.getBatch(.with { $0.userID = "bc"; $0.batchID = batch.id }).summary
        return summary.pending + summary.processing == 0
      }
      let summary = try await server.tasks.getBatch(.with { $0.userID = "bc"; $0.batchID = batch.id }).summary
      #expect(summary.completed + summary.canceled == 8 && summary.creditsHeld == 0)
      #expect(summary.creditsCaptured == Int64(summary.completed) * 10)
      #expect(try await server.balance("bc").balance == 100 - Int64(summary.completed) * 10)
      let pending = try await server.tasks.listTasks(.with { $0.userID = "bc"; $0.batchID = batch.id; $0.status = .canceled })
      #expect(pending.total == Int64(summary.canceled))
    }
  }
}
