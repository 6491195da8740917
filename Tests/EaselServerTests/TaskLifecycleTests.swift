import EaselCore
import EaselImaging
import EaselRPC
import Foundation
import GRPCCore
import SwiftProtobuf
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(2))) struct TaskLifecycleTests {
  let imaging = try! VipsImageProcessor()

  @Test func aTaskRunsFromCreateToADownloadedPNG() async throws {
    try await withTestServer { server in
      try await server.grant("alice", 100)
      let created = try await server.create(
        "alice", parameters: ["width": .init(numberValue: 320), "height": .init(numberValue: 240)])
      #expect(created.status == .pending)
      #expect(created.creditCost == 10)
      #expect(created.template.code == "txt2img" && created.template.version == "1")
      #expect(created.template.category == "图片生成" && created.type == .image)
      #expect(created.parameters.fields["seed"]?.numberValue != nil, "a seed is picked and stored")

      let updates = try await server.updates("alice", created.id)
      // The first update is the state when the stream opened; each later one a newer change.
      #expect(zip(updates, updates.dropFirst()).allSatisfy { $0.sequence < $1.sequence })
      #expect(updates.last?.sequence == 3, "created, claimed, completed")
      let done = try #require(updates.last).task
      #expect(done.status == .completed)
      #expect(done.outputContentType == "image/png")
      #expect(done.attempts == 1 && done.progress == 1)
      #expect(done.hasStartedAt && done.hasFinishedAt)
      #expect(!done.outputURL.isEmpty && !done.thumbnailURL.isEmpty)

      let (png, type, sizes) = try await server.artifact("alice", done.id, .output)
      #expect(type == "image/png")
      #expect(sizes.allSatisfy { $0 == Int64(png.count) })
      let size = try imaging.header(Array(png))
      #expect(size.width == 320 && size.height == 240)

      let (jpeg, thumbType, _) = try await server.artifact("alice", done.id, .thumbnail)
      #expect(thumbType == "image/jpeg")
      let thumb = try imaging.header(Array(jpeg))
      #expect(thumb.width == 200 && thumb.height == 200)

      let balance = try await server.balance("alice")
      #expect(balance.balance == 90 && balance.held == 0 && balance.available == 90)
      #expect(try await server.ledger("alice").map(\.kind) == ["CAPTURE", "HOLD", "GRANT"])
    }
  }

  @Test func theSameSeedMakesTheSameImage() async throws {
    try await withTestServer { server in
      try await server.grant("bob", 100)
      var outputs: [Data] = []
      for _ in 0..<2 {
        let task = try await server.create("bob", parameters: ["seed": .init(numberValue: 42), "width": .init(numberValue: 64)])
        _ = try await server.finished("bob", task.id)
        outputs.append(try await server.artifact("bob", task.id, .output).0)
      }
      #expect(outputs[0] == outputs[1])
      let other = try await server.create("bob", parameters: ["seed": .init(numberValue: 43), "width": .init(numberValue: 64)])
      _ = try await server.finished("bob", other.id)
      #expect(try await server.artifact("bob", other.id, .output).0 != outputs[0])
    }
  }

  @Test func imageToImageStoresTheNormalisedInput() async throws {
    try await withTestServer { server in
      try await server.grant("carol", 100)
      let photo = try imaging.png(rgb: [UInt8](repeating: 90, count: 1500 * 1000 * 3), width: 1500, height: 1000)
      let task = try await server.create("carol", template: "img2img", prompt: "as a watercolour", inputImage: photo)
      #expect(!task.inputImageURL.isEmpty)
      let done = try await server.finished("carol", task.id)
      #expect(done.status == .completed)
      let (input, type, _) = try await server.artifact("carol", task.id, .input)
      #expect(type == "image/jpeg")
      let size = try imaging.header(Array(input))
      #expect(size.width == 1024 && size.height == 683)
    }
  }

  @Test func aFailingBackendFailsTheTaskAndRefunds() async throws {
    try await withTestServer(backends: ["default-image": FailingBackend()]) { server in
      try await server.grant("dave", 30)
      let task = try await server.create("dave")
      let done = try await server.finished("dave", task.id)
      #expect(done.status == .failed)
      #expect(done.errorCode == "model_error")
      #expect(done.errorMessage == "the model refused the prompt")
      let balance = try await server.balance("dave")
      #expect(balance.balance == 30 && balance.held == 0 && balance.available == 30)
      let ledger = try await server.ledger("dave")
      #expect(ledger.map(\.kind) == ["RELEASE", "HOLD", "GRANT"])
      #expect(ledger.first?.reason == "ai_generation_failed")
      #expect(await rpcError { try await server.artifact("dave", task.id, .output) }?.code == .notFound)
    }
  }

  @Test func aVideoTaskMakesAnMP4WithAThumbnail() async throws {
    try await withTestServer { server in
      try await server.grant("erin", 100)
      let parameters: [String: Google_Protobuf_Value] = [
        "duration": .init(numberValue: 1), "fps": .init(numberValue: 6), "resolution": .init(stringValue: "480p"),
        "seed": .init(numberValue: 7),
      ]
      let task = try await server.create("erin", template: "txt2video", parameters: parameters)
      #expect(task.creditCost == 50 && task.type == .video)
      let done = try await server.finished("erin", task.id)
      #expect(done.status == .completed, "\(done.errorMessage)")
      #expect(done.outputContentType == "video/mp4")
      let (video, type, _) = try await server.artifact("erin", task.id, .output)
      #expect(type == "video/mp4" && FFmpeg.isMP4(Array(video)))
      let frame = try await FFmpeg().firstFrame(of: Array(video))
      let size = try imaging.header(frame)
      #expect(size.width == 854 && size.height == 480)
      let thumbnail = try imaging.header(Array(try await server.artifact("erin", task.id, .thumbnail).0))
      #expect(thumbnail.width == 200 && thumbnail.height == 200)
      #expect(try await server.balance("erin").balance == 50)
      // Deterministic: the same seed and prompt give the same clip.
      let again = try await server.create("erin", template: "txt2video", parameters: parameters)
      _ = try await server.finished("erin", again.id)
      #expect(try await server.artifact("erin", again.id, .output).0 == video)
    }
  }

  @Test func cancelingAPendingTaskReleasesItsCredits() async throws {
    try await withTestServer(workers: 0) { server in
      try await server.grant("fay", 20)
      let task = try await server.create("fay")
      #expect(try await server.balance("fay").available == 10)
      let request = Easel_V1_CancelTaskRequest.with {
        $0.userID = "fay"
        $0.taskID = task.id
      }
      let canceled = try await server.tasks.cancelTask(request)
      #expect(canceled.status == .canceled && canceled.hasFinishedAt)
      #expect(try await server.balance("fay").available == 20)
      let ledger = try await server.ledger("fay")
      #expect(ledger.first?.kind == "RELEASE" && ledger.first?.reason == "ai_generation_canceled")
      // Canceling again changes nothing and moves no credits.
      #expect(try await server.tasks.cancelTask(request).status == .canceled)
      #expect(try await server.ledger("fay").count == ledger.count)
      // A stream of a finished task sends its state and ends.
      #expect(try await server.updates("fay", task.id).map(\.task.status) == [.canceled])
    }
  }

  @Test func listingPagesNewestFirst() async throws {
    try await withTestServer(workers: 0) { server in
      try await server.grant("gus", 1000)
      var ids: [String] = []
      for index in 0..<12 { ids.append(try await server.create("gus", prompt: "picture \(index)").id) }
      func page(_ page: Int32, _ limit: Int32, status: Easel_V1_TaskStatus = .unspecified) async throws
        -> Easel_V1_ListTasksResponse
      {
        try await server.tasks.listTasks(.with {
          $0.userID = "gus"
          $0.page = page
          $0.limit = limit
          $0.status = status
        })
      }
      let first = try await page(1, 5)
      #expect(first.total == 12 && first.totalPages == 3 && first.page == 1 && first.limit == 5)
      #expect(first.tasks.map(\.id) == Array(ids.reversed().prefix(5)))
      let last = try await page(3, 5)
      #expect(last.tasks.map(\.id) == [ids[1], ids[0]])
      let defaults = try await page(0, 0)
      #expect(defaults.page == 1 && defaults.limit == 10 && defaults.tasks.count == 10)
      #expect(try await page(1, 100, status: .completed).total == 0)
      #expect(try await page(1, 100, status: .pending).total == 12)
      #expect(await rpcError { try await page(1, 101) }?.code == .invalidArgument)
      #expect(await rpcError { try await page(-1, 10) }?.code == .invalidArgument)
      // Another user sees none of them.
      let other = try await server.tasks.listTasks(.with { $0.userID = "someone-else" })
      #expect(other.total == 0)
    }
  }

  @Test func aUserStreamFollowsEveryTaskOfTheUser() async throws {
    let gate = GatedBackend()
    try await withTestServer(workers: 2, backends: ["default-image": gate]) { server in
      try await server.grant("hana", 100)
      let first = try await server.create("hana")
      let request = Easel_V1_StreamTaskUpdatesRequest.with { $0.userID = "hana" }
      let seen = try await server.tasks.streamTaskUpdates(request) { response in
        var completed = Set<String>()
        var created: [String] = []
        for try await update in response.messages {
          if created.isEmpty {
            // The first message is the unfinished task's current state; now add a second one.
            #expect(update.task.id == first.id)
            created = [first.id, try await server.create("hana").id]
            gate.open()
          }
          if update.task.status == .completed { completed.insert(update.task.id) }
          if completed.count == 2 { break }
        }
        return (created, completed)
      }
      #expect(Set(seen.0) == seen.1)
    }
  }
}

/// Holds every generation until `open()`, so a test controls what is still unfinished.
final class GatedBackend: ModelBackend {
  private let isOpen = Atomic(false)

  func open() { isOpen.store(true, ordering: .releasing) }

  func generate(_ job: GenerationJob, progress: @escaping ProgressHandler) async throws -> GeneratedMedia {
    while !isOpen.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(10)) }
    return GeneratedMedia(bytes: try VipsImageProcessor().png(rgb: [0, 0, 0], width: 1, height: 1), contentType: "image/png")
  }
}

struct FailingBackend: ModelBackend {
  func generate(_ job: GenerationJob, progress: @escaping ProgressHandler) async throws -> GeneratedMedia {
    throw BackendFailure(code: "model_error", message: "the model refused the prompt")
  }
}
