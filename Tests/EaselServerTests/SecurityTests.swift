import EaselCore
import EaselRPC
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import SwiftProtobuf
import Testing

extension TestServer {
  /// Creates an API key straight in the server's database, as `easeld keys create` does.
  func createKey(platform: String, scope: Caller.Scope, maxPriority: Int = 5) async throws -> (id: String, secret: String) {
    let secret = APIKeySecret.generate()
    let id = String(UUID().uuidString.prefix(8)).lowercased()
    try await TestDatabase.withStore(directory) { store in
      try await store.createAPIKey(
        APIKeyRecord(
          id: id, platform: platform, scope: scope, name: "test", createdAt: Date(), revokedAt: nil, maxPriority: maxPriority),
        secretHash: APIKeySecret.hash(secret))
    }
    return (id, secret)
  }

  func withTCPClient<T: Sendable>(_ body: (GRPCClient<Transport>) async throws -> T) async throws -> T {
    let port = try #require(endpoints.tcp).port
    return try await withGRPCClient(
      transport: try .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext),
      handleClient: body)
  }
}

func bearer(_ secret: String) -> Metadata { ["authorization": "Bearer \(secret)"] }

@Suite(.timeLimit(.minutes(2))) struct SecurityTests {
  @Test func tcpNeedsAValidUnrevokedKey() async throws {
    try await withTestServer(workers: 0, configure: { $0.apiKeyCacheDuration = .milliseconds(200) }) { server in
      let key = try await server.createKey(platform: "web", scope: .tasks)
      try await server.withTCPClient { client in
        let credits = Easel_V1_CreditService.Client(wrapping: client)
        let request = Easel_V1_GetBalanceRequest.with { $0.userID = "u1" }
        let none = await rpcError { try await credits.getBalance(request) }
        #expect(none?.code == .unauthenticated && none?.message.hasPrefix("missing API key") == true)
        let wrong = await rpcError { try await credits.getBalance(request, metadata: bearer("ek_not-a-key")) }
        #expect(wrong?.code == .unauthenticated && wrong?.message == "unknown API key")
        let basic = await rpcError { try await credits.getBalance(request, metadata: ["authorization": "Basic eDp5"]) }
        #expect(basic?.code == .unauthenticated)
        let balance = try await credits.getBalance(request, metadata: bearer(key.secret))
        #expect(balance.platform == "web", "an empty platform means the key's platform")

        // Revoked straight in the database, as `easeld keys revoke` does: refused once the key
        // cache's entry (200 ms here) expires, and from then on. (How long an entry lives is
        // checked without timing a loaded server, in APIKeyCacheTests.)
        #expect(try await TestDatabase.withStore(server.directory) { try await $0.revokeAPIKey(id: key.id, now: Date()) })
        let revokedAt = ContinuousClock.now
        var revoked: RPCError?
        while revoked == nil, ContinuousClock.now - revokedAt < .seconds(10) {
          revoked = await rpcError { try await credits.getBalance(request, metadata: bearer(key.secret)) }
          if revoked == nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(revoked?.code == .unauthenticated && revoked?.message == "API key \(key.id) was revoked")
        let again = await rpcError { try await credits.getBalance(request, metadata: bearer(key.secret)) }
        #expect(again?.code == .unauthenticated)

        // Health stays open for load balancers; the Unix socket needs no key.
        #expect(try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init()).status == .serving)
      }
      #expect(try await server.balance("u1", platform: "web").platform == "web")
    }
  }

  @Test func aKeyActsOnlyForItsPlatform() async throws {
    try await withTestServer(workers: 0) { server in
      try await server.grant("u1", 100, platform: "bot")
      let task = try await server.create("u1", platform: "bot")
      let key = try await server.createKey(platform: "web", scope: .admin)
      try await server.withTCPClient { client in
        let tasks = Easel_V1_TaskService.Client(wrapping: client)
        let credits = Easel_V1_CreditService.Client(wrapping: client)
        let auth = bearer(key.secret)
        let calls: [(String, () async throws -> Any)] = [
          ("CreateTask", { try await tasks.createTask(.with { $0.platform = "bot"; $0.userID = "u1"; $0.templateCode = "txt2img" }, metadata: auth) }),
          ("GetTask", { try await tasks.getTask(.with { $0.platform = "bot"; $0.userID = "u1"; $0.taskID = task.id }, metadata: auth) }),
          ("ListTasks", { try await tasks.listTasks(.with { $0.platform = "bot"; $0.userID = "u1" }, metadata: auth) }),
          ("CancelTask", { try await tasks.cancelTask(.with { $0.platform = "bot"; $0.userID = "u1"; $0.taskID = task.id }, metadata: auth) }),
          ("StreamTaskUpdates", {
            try await tasks.streamTaskUpdates(.with { $0.platform = "bot"; $0.userID = "u1"; $0.taskID = task.id }, metadata: auth) {
              try await $0.messages.reduce(0) { count, _ in count + 1 }
            }
          }),
          ("FetchArtifact", {
            try await tasks.fetchArtifact(.with { $0.platform = "bot"; $0.userID = "u1"; $0.taskID = task.id }, metadata: auth) {
              try await $0.messages.reduce(0) { count, _ in count + 1 }
            }
          }),
          ("GetBalance", { try await credits.getBalance(.with { $0.platform = "bot"; $0.userID = "u1" }, metadata: auth) }),
          ("GrantCredits", { try await credits.grantCredits(.with { $0.platform = "bot"; $0.userID = "u1"; $0.amount = 5 }, metadata: auth) }),
          ("AdjustCredits", { try await credits.adjustCredits(.with { $0.platform = "bot"; $0.userID = "u1"; $0.amount = -5; $0.reason = "x" }, metadata: auth) }),
          ("ListLedger", { try await credits.listLedger(.with { $0.platform = "bot"; $0.userID = "u1" }, metadata: auth) }),
        ]
        for (name, call) in calls {
          let error = await rpcError(call)
          #expect(error?.code == .permissionDenied, "\(name)")
          #expect(error?.message == "this API key belongs to platform web; it can't act for platform bot", "\(name)")
        }
      }
      let after = try await server.balance("u1", platform: "bot")
      #expect(after.balance == 100 && after.held == 10, "nothing moved")
      #expect(try await server.get("u1", task.id, platform: "bot").status == .pending)
    }
  }

  @Test func scopesLimitWhatAKeyMayDo() async throws {
    try await withTestServer(workers: 0) { server in
      let subscribe = try await server.createKey(platform: "web", scope: .subscribe)
      let tasksKey = try await server.createKey(platform: "web", scope: .tasks)
      let admin = try await server.createKey(platform: "web", scope: .admin)
      try await server.withTCPClient { client in
        let tasks = Easel_V1_TaskService.Client(wrapping: client)
        let credits = Easel_V1_CreditService.Client(wrapping: client)
        let templates = Easel_V1_TemplateService.Client(wrapping: client)
        let grant = Easel_V1_GrantCreditsRequest.with { $0.userID = "u2"; $0.amount = 50 }
        let create = Easel_V1_CreateTaskRequest.with {
          $0.userID = "u2"
          $0.templateCode = "txt2img"
          $0.parameters.fields["prompt"] = .init(stringValue: "a heron")
        }

        let denied = await rpcError { try await credits.grantCredits(grant, metadata: bearer(tasksKey.secret)) }
        #expect(denied?.code == .permissionDenied && denied?.message == "an API key with scope tasks can't grant or adjust credits")
        #expect(try await credits.grantCredits(grant, metadata: bearer(admin.secret)).available == 50)

        let readOnly = await rpcError { try await tasks.createTask(create, metadata: bearer(subscribe.secret)) }
        #expect(readOnly?.code == .permissionDenied && readOnly?.message == "an API key with scope subscribe can't create tasks")
        let task = try await tasks.createTask(create, metadata: bearer(tasksKey.secret))
        #expect(task.platform == "web")

        let get = Easel_V1_GetTaskRequest.with { $0.userID = "u2"; $0.taskID = task.id }
        #expect(try await tasks.getTask(get, metadata: bearer(subscribe.secret)).id == task.id)
        let cancel = Easel_V1_CancelTaskRequest.with { $0.userID = "u2"; $0.taskID = task.id }
        #expect(await rpcError { try await tasks.cancelTask(cancel, metadata: bearer(subscribe.secret)) }?.code == .permissionDenied)
        #expect(try await tasks.cancelTask(cancel, metadata: bearer(tasksKey.secret)).status == .canceled)

        #expect(try await templates.listTemplates(.init(), metadata: bearer(subscribe.secret)).templates.count >= 5)
        #expect(await rpcError { try await templates.reloadTemplates(.init(), metadata: bearer(tasksKey.secret)) }?.code == .permissionDenied)
        #expect(try await templates.reloadTemplates(.init(), metadata: bearer(admin.secret)).templates.count >= 5)
      }
    }
  }

  @Test func keysAreManagedWithEaseld() async throws {
    let data = try TestServer.temporaryDirectory()
    if !TestDatabase.isPostgres {
      // A maintenance command never creates a database; it names where it looked.
      let early = try await runTool("easeld", ["keys", "create", "--data", data.path, "--platform", "web", "--scope", "tasks"])
      #expect(early.status == 1 && early.stderr.contains("no Easel database at \(data.path)/easel.sqlite"), "\(early.stderr)")
      #expect(!early.stderr.contains("Usage"))
    }
    try await withTestServer(directory: data) { _ in }  // serve creates it
    let created = try await runTool("easeld", ["keys", "create", "--data", data.path, "--platform", "web", "--scope", "tasks", "--name", "backend"])
    #expect(created.status == 0)
    let secret = try #require(created.stdout.split(separator: "\n").last.map(String.init))
    #expect(secret.hasPrefix("ek_") && secret.count == 67)
    let listed = try await runTool("easeld", ["keys", "list", "--data", data.path])
    #expect(listed.stdout.contains("web  tasks  active  backend") && !listed.stdout.contains(secret))
    let id = try #require(listed.stdout.split(separator: " ").first.map(String.init))
    #expect(try await runTool("easeld", ["keys", "revoke", "--data", data.path, id]).status == 0)
    #expect(try await runTool("easeld", ["keys", "list", "--data", data.path]).stdout.contains("revoked"))
    #expect(try await runTool("easeld", ["keys", "create", "--data", data.path, "--platform", "web", "--scope", "root"]).status != 0)
  }
}
