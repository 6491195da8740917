import EaselImaging
import EaselRPC
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

@Suite(.timeLimit(.minutes(2))) struct ErrorStatusTests {
  @Test func unknownTemplateIsNotFound() async throws {
    try await withTestServer { server in
      try await server.grant("ann", 100)
      let error = await rpcError { try await server.create("ann", template: "nope") }
      #expect(error?.code == .notFound)
      #expect(error?.message == "template nope does not exist")
    }
  }

  @Test func withoutCreditsNothingIsWritten() async throws {
    try await withTestServer { server in
      try await server.grant("ben", 5)
      let error = await rpcError { try await server.create("ben") }
      #expect(error?.code == .failedPrecondition)
      #expect(error?.message == "insufficient credits: need 10, available 5")
      #expect(try await server.tasks.listTasks(.with { $0.userID = "ben" }).total == 0)
      #expect(try await server.ledger("ben").map(\.kind) == ["GRANT"])
      #expect(try await server.balance("ben").available == 5)
    }
  }

  @Test func anotherUsersOrPlatformsTaskIsNotFound() async throws {
    try await withTestServer(workers: 0) { server in
      try await server.grant("cat", 100, platform: "web")
      let task = try await server.create("cat", platform: "web")
      #expect(try await server.get("cat", task.id, platform: "web").id == task.id)
      for (user, platform) in [("dog", "web"), ("cat", "bot"), ("cat", "")] {
        let error = await rpcError { try await server.get(user, task.id, platform: platform) }
        #expect(error?.code == .notFound, "\(platform)/\(user)")
        #expect(error?.message == "task \(task.id) does not exist")
        let cancel = await rpcError {
          try await server.tasks.cancelTask(.with {
            $0.platform = platform
            $0.userID = user
            $0.taskID = task.id
          })
        }
        #expect(cancel?.code == .notFound)
        #expect(await rpcError { try await server.updates(user, task.id) }?.code == .notFound)
      }
      #expect(try await server.get("cat", task.id, platform: "web").status == .pending)
    }
  }

  @Test func badParametersNameTheField() async throws {
    try await withTestServer { server in
      try await server.grant("eve", 100)
      let cases: [([String: Google_Protobuf_Value], String)] = [
        (["width": .init(numberValue: 5000)], "parameters.width must be at most 2048; got 5000"),
        (["quality": .init(stringValue: "ultra")], "parameters.quality must be one of standard, high; got \"ultra\""),
        (["steps": .init(numberValue: 3)], "parameters.steps is not a parameter of template txt2img"),
        (["width": .init(listValue: .init())], "parameters.width must be a string, number or boolean"),
      ]
      for (parameters, message) in cases {
        let error = await rpcError { try await server.create("eve", parameters: parameters) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.hasPrefix(message) == true, "\(error?.message ?? "no error")")
      }
      let noPrompt = await rpcError { try await server.create("eve", prompt: nil) }
      #expect(noPrompt?.message == "parameters.prompt is required by template txt2img")
      let noUser = await rpcError { try await server.create("") }
      #expect(noUser?.code == .invalidArgument && noUser?.message == "user_id is required")
      #expect(try await server.balance("eve").available == 100, "no credits moved")
    }
  }

  @Test func badInputImagesAreInvalidArguments() async throws {
    try await withTestServer { server in
      try await server.grant("fox", 100)
      let missing = await rpcError { try await server.create("fox", template: "img2img") }
      #expect(missing?.message == "input_image is required by template img2img")
      let garbage = await rpcError {
        try await server.create("fox", template: "img2img", inputImage: Array("not an image".utf8))
      }
      #expect(garbage?.code == .invalidArgument)
      #expect(garbage?.message.hasPrefix("input_image") == true)
      let unexpected = await rpcError { try await server.create("fox", inputImage: [0xFF, 0xD8, 0xFF]) }
      #expect(unexpected?.message == "input_image is not accepted by template txt2img")

      // Hostile files: a PNG whose header claims 14000×14000 (190 KB on the wire), a truncated
      // JPEG, random bytes, and text (as a file named .png would be).
      let folder = try TestServer.temporaryDirectory()
      let bombPath = folder.appendingPathComponent("bomb.png").path
      #expect(try await runTool("vips", ["black", bombPath, "14000", "14000"]).status == 0)
      let bomb = Array(try Data(contentsOf: URL(fileURLWithPath: bombPath)))
      let jpeg = try VipsImageProcessor().normalizeInput(
        try VipsImageProcessor().png(rgb: [UInt8](repeating: 120, count: 300 * 200 * 3), width: 300, height: 200))
      let hostile: [(String, [UInt8], String)] = [
        ("bomb", bomb, "14000×14000 pixels"), ("truncated", Array(jpeg.prefix(jpeg.count / 2)), "input_image"),
        ("random", (0..<5000).map { _ in UInt8.random(in: 0...255) }, "input_image"),
        ("text", Array("<html>definitely not a picture</html>".utf8), "input_image"),
      ]
      for (name, bytes, says) in hostile {
        let error = await rpcError { try await server.create("fox", template: "img2img", inputImage: bytes) }
        #expect(error?.code == .invalidArgument && error?.message.contains(says) == true, "\(name): \(String(describing: error))")
      }
      #expect(try await server.balance("fox").available == 100)
      // The server is still healthy.
      #expect(try await server.health.check(.init()).status == .serving)
    }
  }

  @Test func grantsMustBePositive() async throws {
    try await withTestServer { server in
      for amount: Int64 in [0, -5] {
        let error = await rpcError { try await server.grant("gil", amount) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message == "amount must be positive; got \(amount)")
      }
    }
  }
}
