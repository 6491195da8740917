import Crypto
import EaselCore
import EaselImaging
import EaselRPC
import EaselServer
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

extension FakeModelServer.SeenRequest {
  func header(_ name: String) -> String? {
    headers.first { $0.key.lowercased() == name }?.value
  }

  /// The body exactly as sent (the fake server reports it as Latin-1).
  var bodyBytes: [UInt8] { text.unicodeScalars.map { UInt8($0.value) } }
}

/// Checks a Standard Webhooks signature the way a receiver's library does.
func hasValidSignature(_ request: FakeModelServer.SeenRequest, secret: String) throws -> Bool {
  let key = SymmetricKey(data: try #require(Data(base64Encoded: String(secret.dropFirst("whsec_".count)))))
  let id = try #require(request.header("webhook-id"))
  let timestamp = try #require(request.header("webhook-timestamp"))
  var signed = Data("\(id).\(timestamp).".utf8)
  signed.append(contentsOf: request.bodyBytes)
  let expected = "v1," + Data(HMAC<SHA256>.authenticationCode(for: signed, using: key)).base64EncodedString()
  return request.header("webhook-signature")?.split(separator: " ").contains { $0 == expected } == true
}

@Suite(.timeLimit(.minutes(2))) struct WebhookTests {
  static func allowingLoopback(_ configuration: inout ServerConfiguration) {
    configuration.webhooks.allowedHosts = ["127.0.0.1"]
    configuration.webhooks.retryBase = .milliseconds(200)
  }

  @Test func aFinishedTaskIsPostedSignedAndRetriedAfterA500() async throws {
    let receiver = try FakeModelServer()
    try await receiver.script("/hooks/easel", [.init(status: 500, body: "down"), .init(status: 204)])
    try await withTestServer(workers: 1, configure: Self.allowingLoopback) { server in
      try await server.grant("wes", 20)
      let task = try await server.create("wes", prompt: "a lighthouse", webhookURL: receiver.url + "/hooks/easel")
      #expect(task.webhookURL == receiver.url + "/hooks/easel")
      _ = try await server.finished("wes", task.id)
      try await waitUntil { try await receiver.requests("/hooks/easel").count == 2 }

      let secret = try await runTool("easeld", ["webhooks", "secret", "--platform", "default", "--data", server.directory.path])
      let whsec = try #require(secret.stdout.split(separator: "\n").last.map(String.init))
      #expect(whsec.hasPrefix("whsec_"))

      let posts = try await receiver.requests("/hooks/easel")
      #expect(posts.allSatisfy { $0.method == "POST" && $0.header("content-type") == "application/json" })
      #expect(try posts.allSatisfy { try hasValidSignature($0, secret: whsec) })
      #expect(posts.map { $0.json?["type"] } == [.string("task.completed"), .string("task.completed")])
      #expect(posts[0].header("webhook-id") == posts[1].header("webhook-id"), "a retry keeps its id")
      let timestamp = try #require(posts[1].header("webhook-timestamp"))
      let sent = try #require(Int(timestamp))
      #expect(abs(Int(Date().timeIntervalSince1970) - sent) < 60)
      let body = try JSONSerialization.jsonObject(with: Data(posts[1].bodyBytes)) as? [String: Any]
      let data = try #require(body?["data"] as? [String: Any])
      #expect(data["id"] as? String == task.id && data["status"] as? String == "TASK_STATUS_COMPLETED")

      // Every attempt is recorded (the second just after the receiver answered it).
      let history = try await TestDatabase.withStore(server.directory) { store in
        try await waitUntil { try await store.webhookDeliveries(taskID: task.id).first?.state == .delivered }
        return try await store.webhookDeliveries(taskID: task.id)
      }
      #expect(history.map(\.state) == [.delivered])
      #expect(history.map { $0.attempts.map(\.statusCode) } == [[500, 204]])
      // A tampered body fails verification.
      var forged = posts[1]
      forged.text = forged.text.replacingOccurrences(of: "COMPLETED", with: "FAILED")
      #expect(try !hasValidSignature(forged, secret: whsec))

      // With webhook_on_start, processing is announced too (here set with the CLI's flags).
      let cli = try await runTool(
        "easel",
        [
          "create", "--template", "txt2img", "--prompt", "a harbour", "--user", "wes", "--wait",
          "--webhook-url", receiver.url + "/hooks/both", "--webhook-on-start",
          "--server", "unix:\(server.endpoints.unixSocketPath)",
        ])
      #expect(cli.status == 0, "\(cli.stderr)")
      try await waitUntil { try await receiver.requests("/hooks/both").count == 2 }
      let announced = try await receiver.requests("/hooks/both").compactMap { $0.json?["type"] }
      #expect(Set(announced) == [.string("task.started"), .string("task.completed")])
    }
  }

  @Test func redirectsAreNotFollowed() async throws {
    let receiver = try FakeModelServer()
    try await receiver.script("/moved", [.init(status: 302, headers: ["Location": receiver.url + "/elsewhere"]), .init(status: 200)])
    try await withTestServer(workers: 1, configure: Self.allowingLoopback) { server in
      try await server.grant("ren", 20)
      let task = try await server.create("ren", prompt: "a gate", webhookURL: receiver.url + "/moved")
      _ = try await server.finished("ren", task.id)
      try await TestDatabase.withStore(server.directory) { store in
        try await waitUntil { try await store.webhookDeliveries(taskID: task.id).first?.state == .delivered }
        #expect(try await store.webhookDeliveries(taskID: task.id).first?.attempts.map(\.statusCode) == [302, 200])
      }
      #expect(try await receiver.requests("/elsewhere").isEmpty)
    }
  }

  @Test func privateAndMalformedTargetsAreRefusedUnlessAllowed() async throws {
    try await withTestServer(workers: 0) { server in
      try await server.grant("pia", 100)
      func create(_ url: String) async -> RPCError? {
        await rpcError {
          try await server.create("pia", prompt: "x", webhookURL: url)
        }
      }
      let refused: [(String, String)] = [
        ("http://127.0.0.1:9/hook", "loopback"), ("http://localhost/hook", "loopback"),
        ("http://169.254.169.254/latest/meta-data", "link-local"), ("http://10.1.2.3/", "private"),
        ("http://192.168.0.10/", "private"), ("http://[::1]/", "loopback"), ("http://[fd00::5]/", "unique local"),
        ("http://[::ffff:127.0.0.1]/", "loopback"), ("http://100.64.0.1/", "shared address space"),
      ]
      for (url, reason) in refused {
        let error = await create(url)
        #expect(error?.code == .invalidArgument, "\(url)")
        #expect(error?.message.contains(reason) == true && error?.message.contains("EASEL_WEBHOOK_ALLOWED_HOSTS") == true, "\(url): \(error?.message ?? "")")
      }
      for url in ["ftp://example.com/x", "not a url", "http://user:pw@example.com/"] {
        #expect(await create(url)?.code == .invalidArgument, "\(url)")
      }
      #expect(try await server.balance("pia").held == 0, "nothing was created or held")
    }
    // The operator's allow list opens exactly what it names.
    try await withTestServer(workers: 0, configure: { $0.webhooks.allowedHosts = ["10.0.0.0/8", "localhost"] }) { server in
      try await server.grant("pia", 100)
      for url in ["http://10.1.2.3/hook", "http://localhost:8080/hook"] {
        _ = try await server.create("pia", prompt: "x", webhookURL: url)
      }
      let stillRefused = await rpcError {
        try await server.create("pia", prompt: "x", webhookURL: "http://192.168.1.1/")
      }
      #expect(stillRefused?.code == .invalidArgument)
    }
  }

  @Test func aPendingDeliverySurvivesARestart() async throws {
    let receiver = try FakeModelServer()
    try await receiver.script("/later", [.init(status: 503), .init(status: 200)])
    let directory = try TestServer.temporaryDirectory()
    let id = try await withTestServer(directory: directory, workers: 1, configure: {
      Self.allowingLoopback(&$0)
      $0.webhooks.retryBase = .seconds(2)  // the retry comes due after this server has stopped
    }) { server in
      try await server.grant("ria", 20)
      let task = try await server.create("ria", prompt: "a kite", webhookURL: receiver.url + "/later")
      _ = try await server.finished("ria", task.id)
      try await waitUntil { try await receiver.requests("/later").count == 1 }
      return task.id
    }
    try await withTestServer(directory: directory, workers: 0, configure: Self.allowingLoopback) { server in
      try await waitUntil { try await receiver.requests("/later").count == 2 }
      try await TestDatabase.withStore(directory) { store in
        try await waitUntil { try await store.webhookDeliveries(taskID: id).first?.state == .delivered }
        #expect(try await store.webhookDeliveries(taskID: id).first?.attempts.map(\.statusCode) == [503, 200])
      }
    }
  }
}

/// Reports progress every 250 ms for 4 s, with a preview picture every other step.
struct PaintingBackend: ModelBackend {
  func generate(_ job: GenerationJob, progress: @escaping ProgressHandler) async throws -> GeneratedMedia {
    let processor = try VipsImageProcessor()
    for step in 1...16 {
      try await Task.sleep(for: .milliseconds(250))
      let picture = step.isMultiple(of: 2) ? try processor.png(rgb: [UInt8(step * 10), 0, 0], width: 1, height: 1) : nil
      await progress(GenerationProgress(Double(step) / 17, preview: picture))
    }
    return GeneratedMedia(bytes: try processor.png(rgb: [200, 0, 0], width: 1, height: 1), contentType: "image/png")
  }
}

extension WebhookTests {
  /// The chosen events arrive, progress and previews at most once a second each, and a receiver
  /// slower than the reports gets the latest progress, not a backlog; with webhook_on_start the
  /// start is POSTed once, however many reports follow it.
  @Test func chosenEventsArriveAndProgressIsThrottledToTheLatest() async throws {
    let receiver = try FakeModelServer()
    try await receiver.script("/hooks/slow", Array(repeating: .init(status: 204, delay: 1.5), count: 20))
    try await withTestServer(workers: 1, backends: ["default-image": PaintingBackend()], configure: Self.allowingLoopback) {
      server in
      try await server.grant("pat", 20)
      let task = try await server.tasks.createTask(.with {
        $0.userID = "pat"
        $0.templateCode = "txt2img"
        $0.parameters.fields["prompt"] = Google_Protobuf_Value(stringValue: "a slow painting")
        $0.webhookURL = receiver.url + "/hooks/slow"
        $0.webhookOnStart = true
        $0.webhookEvents = ["progress", "preview", "completed"]
      })
      let final = try await server.finished("pat", task.id)
      #expect(final.status == .completed)
      try await waitUntil(within: .seconds(30)) {
        try await receiver.requests("/hooks/slow").contains { $0.json?["type"] == .string("task.completed") }
      }
      let posts = try await receiver.requests("/hooks/slow")
      let types = posts.compactMap { post -> String? in
        if case .string(let type) = post.json?["type"] { return type } else { return nil }
      }
      #expect(types.filter { $0 == "task.started" }.count == 1, "\(types)")
      #expect(types.filter { $0 == "task.completed" }.count == 1)
      #expect(Set(types) == ["task.started", "task.progress", "task.preview", "task.completed"], "\(types)")
      // 16 reports over 4 s; a receiver taking 1.5 s a POST sees a few, each newer than the last.
      let progress = try posts.filter { $0.json?["type"] == .string("task.progress") }.map { post in
        let body = try JSONSerialization.jsonObject(with: Data(post.bodyBytes)) as? [String: Any]
        return try #require((body?["data"] as? [String: Any])?["progress"] as? Double)
      }
      let seconds = Int(final.processingTimeMs / 1000)
      #expect((1...(seconds + 2)).contains(progress.count), "16 reports over \(seconds) s, POSTed: \(progress)")
      #expect(progress == progress.sorted() && Set(progress).count == progress.count, "\(progress)")
      let deliveries = try await TestDatabase.withStore(server.directory) { try await $0.webhookDeliveries(taskID: task.id) }
      #expect(!deliveries.contains { $0.delivery.event.isThrottled && $0.state == .pending }, "nothing stale left to send")
    }
  }

  @Test func unknownEventsAndEventsWithoutAURLAreRefused() async throws {
    try await withTestServer(workers: 0) { server in
      try await server.grant("ned", 20)
      func create(_ configure: @escaping (inout Easel_V1_CreateTaskRequest) -> Void) async -> RPCError? {
        await rpcError {
          try await server.tasks.createTask(.with {
            $0.userID = "ned"
            $0.templateCode = "txt2img"
            $0.parameters.fields["prompt"] = Google_Protobuf_Value(stringValue: "x")
            configure(&$0)
          })
        }
      }
      let unknown = await create {
        $0.webhookURL = "http://127.0.0.1:9/hook"
        $0.webhookEvents = ["finished"]
      }
      #expect(unknown?.code == .invalidArgument && unknown?.message.contains("finished is not one of started, progress") == true)
      let orphan = await create { $0.webhookEvents = ["completed"] }
      #expect(orphan?.code == .invalidArgument && orphan?.message.contains("need a webhook_url") == true)
    }
  }
}
