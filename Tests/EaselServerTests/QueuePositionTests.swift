import EaselCore
import EaselImaging
import EaselRPC
import EaselServer
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

/// Queue positions and estimates, QuoteTask, max_wait_ms and per-backend queue bounds.
@Suite(.timeLimit(.minutes(3))) struct QueuePositionTests {
  @Test func positionAndEstimateShrinkAsTheQueueDrainsAndAreZeroWhenNext() async throws {
    let directory = try TestServer.temporaryDirectory()
    try await withTestServer(directory: directory, workers: 0) { server in
      for user in ["ann", "bob", "cy"] { try await server.grant(user, 10_000) }
      for index in 0..<4 {
        for user in ["ann", "bob", "cy"] { _ = try await server.create(user, prompt: "\(user) \(index)") }
      }
      let watched = try await server.create("bob", prompt: "watched")
      // Two dispatches, so the backend has a throughput to estimate from.
      _ = try await SchedulingTests.dispatch(2, from: directory)
      var positions: [Int32] = []
      var starts: [Date] = []
      while true {
        let task = try await server.get("bob", watched.id)
        guard task.status == .pending else { break }
        positions.append(task.queuePosition)
        #expect(task.hasEstimatedStartAt)
        starts.append(task.estimatedStartAt.date)
        if task.queuePosition == 0 {
          #expect(abs(task.estimatedStartAt.date.timeIntervalSinceNow) < 5, "next means now")
          break
        }
        _ = try await SchedulingTests.dispatch(1, from: directory)
        try await Task.sleep(for: .milliseconds(1100))  // a position is refreshed at most once a second
      }
      #expect(positions.first == 10 && positions.last == 0, "\(positions)")
      #expect(positions == positions.sorted(by: >) && Set(positions).count == positions.count, "\(positions)")
      #expect(starts == starts.sorted(by: >), "the estimate moves closer: \(starts)")
      #expect(try await SchedulingTests.dispatch(1, from: directory).first?.id == watched.id, "position 0 was next")
    }
  }

  @Test func quoteMatchesCreateForEveryBuiltInTemplate() async throws {
    let imaging = try VipsImageProcessor()
    let photo = try imaging.png(rgb: [UInt8](repeating: 120, count: 16 * 16 * 3), width: 16, height: 16)
    try await withTestServer(workers: 0) { server in
      try await server.grant("qt", 1_000)
      let templates = try await server.templates.listTemplates(.init()).templates
      #expect(templates.count >= 5)
      for template in templates {
        var request = Easel_V1_CreateTaskRequest.with {
          $0.userID = "qt"
          $0.templateCode = template.code
          if template.requiresInputImage { $0.inputImage = Data(photo) }
        }
        for spec in template.parameters where spec.required {
          request.parameters.fields[spec.name] = Self.validValue(spec)
        }
        if let quality = template.parameters.first(where: { $0.name == "quality" }), quality.allowedValues.contains("high") {
          request.parameters.fields["quality"] = Google_Protobuf_Value(stringValue: "high")
        }
        let quote = try await server.tasks.quoteTask(request)
        let created = try await server.tasks.createTask(request)
        #expect(quote.creditCost == created.creditCost && quote.covered, "\(template.code)")
        #expect(quote.available - created.creditCost == (try await server.balance("qt").available), "\(template.code)")

        var broken = request
        broken.parameters.fields["no_such_parameter"] = Google_Protobuf_Value(numberValue: 1)
        let quoteError = await rpcError { try await server.tasks.quoteTask(broken) }
        let createError = await rpcError { try await server.tasks.createTask(broken) }
        #expect(quoteError?.code == .invalidArgument && quoteError?.code == createError?.code, "\(template.code)")
        #expect(quoteError?.message == createError?.message, "\(template.code)")
      }
      var unknown = Easel_V1_CreateTaskRequest.with { $0.userID = "qt"; $0.templateCode = "nope" }
      #expect(await rpcError { try await server.tasks.quoteTask(unknown) }?.code == .notFound)
      unknown.templateCode = "txt2img"
      unknown.parameters.fields["prompt"] = Google_Protobuf_Value(stringValue: "x")
      unknown.userID = "poor"
      let poor = try await server.tasks.quoteTask(unknown)
      #expect(!poor.covered && poor.available == 0 && poor.creditCost == 10)
      #expect(await rpcError { try await server.tasks.createTask(unknown) }?.code == .failedPrecondition)
    }
  }

  static func validValue(_ spec: Easel_V1_ParameterSpec) -> Google_Protobuf_Value {
    switch spec.type {
    case "integer", "number": Google_Protobuf_Value(numberValue: spec.hasMinimum ? spec.minimum : 1)
    case "boolean": Google_Protobuf_Value(boolValue: true)
    case "enum": Google_Protobuf_Value(stringValue: spec.allowedValues.first ?? "")
    default: Google_Protobuf_Value(stringValue: "a red fox")
    }
  }

  @Test func maxWaitRefusesATaskThatWouldWaitTooLongAndAFullQueueRefusesAny() async throws {
    let directory = try TestServer.temporaryDirectory()
    let bounded: (inout ServerConfiguration) -> Void = { $0.limits.maxQueueLength = ["default-video": 2] }
    try await withTestServer(directory: directory, workers: 0, configure: bounded) { server in
      try await server.grant("mw", 10_000)
      for index in 0..<30 { _ = try await server.create("mw", prompt: "backlog \(index)") }
      _ = try await SchedulingTests.dispatch(3, from: directory)  // 3 starts in 5 minutes: one a 100 s
      var hurried = Easel_V1_CreateTaskRequest.with {
        $0.userID = "mw"
        $0.templateCode = "txt2img"
        $0.parameters.fields["prompt"] = Google_Protobuf_Value(stringValue: "now please")
        $0.maxWaitMs = 60_000
      }
      let refused = await rpcError { try await server.tasks.createTask(hurried) }
      #expect(refused?.code == .failedPrecondition && refused?.message.contains("max_wait_ms 60000") == true, "\(String(describing: refused))")
      hurried.maxWaitMs = 0
      #expect(try await server.tasks.createTask(hurried).status == .pending)

      for _ in 0..<2 { _ = try await server.create("mw", template: "txt2video", prompt: "clip") }
      let full = await rpcError { try await server.create("mw", template: "txt2video", prompt: "one more") }
      #expect(full?.code == .resourceExhausted && full?.message.contains("default-video is full") == true, "\(String(describing: full))")
      let quoteFull = await rpcError {
        try await server.tasks.quoteTask(.with {
          $0.userID = "mw"
          $0.templateCode = "txt2video"
          $0.parameters.fields["prompt"] = Google_Protobuf_Value(stringValue: "x")
        })
      }
      #expect(quoteFull?.code == .resourceExhausted)
    }
  }
}

extension QueuePositionTests {
  @Test func theCLIQuotesAndShowsWhereATaskStands() async throws {
    try await withTestServer(workers: 0) { server in
      try await server.grant("cli", 100)
      let first = try await server.create("cli", prompt: "first")
      let env = ["EASEL_SERVER": "unix:\(server.endpoints.unixSocketPath)"]
      let shown = try await runTool("easel", ["get", first.id, "--user", "cli"], environment: env)
      #expect(shown.stdout.contains("queue      next"), "\(shown.stdout)\(shown.stderr)")
      let quoted = try await runTool(
        "easel", ["quote", "--template", "txt2img", "--user", "cli", "--prompt", "second", "--param", "quality=high"], environment: env)
      #expect(quoted.status == 0 && quoted.stdout.contains("15 credits (90 available: covered); queue: 1 ahead"), "\(quoted.stdout)\(quoted.stderr)")
      let bad = try await runTool("easel", ["quote", "--template", "txt2img", "--user", "cli", "--param", "width=1"], environment: env)
      #expect(bad.status == 1 && bad.stderr.contains("parameters.prompt is required"), "\(bad.stderr)")
    }
  }
}
