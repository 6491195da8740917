import EaselRPC
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

@Suite(.timeLimit(.minutes(3))) struct CrashAndCLITests {
  @Test func aSIGKILLMidWorkLosesNoTaskAndNoCredit() async throws {
    let data = try TestServer.temporaryDirectory()
    let first = try EaseldProcess(data: data, workers: 2, environment: ["EASEL_PROCEDURAL_DELAY_MS": "3000"])
    try await first.start()
    let users = ["alice", "bob"]
    let created: [Easel_V1_Task] = try await withUnixClient(first.socketPath) { client in
      let tasks = Easel_V1_TaskService.Client(wrapping: client)
      let credits = Easel_V1_CreditService.Client(wrapping: client)
      var created: [Easel_V1_Task] = []
      for user in users {
        _ = try await credits.grantCredits(.with {
          $0.userID = user
          $0.amount = 200
        })
        for index in 0..<6 {
          created.append(
            try await tasks.createTask(.with {
              $0.userID = user
              $0.templateCode = "txt2img"
              $0.parameters.fields["prompt"] = .init(stringValue: "picture \(index)")
              $0.parameters.fields["width"] = .init(numberValue: 64)
              if index.isMultiple(of: 2) { $0.parameters.fields["quality"] = .init(stringValue: "high") }
            }))
        }
      }
      // Kill only once generations are under way (each takes 3 s in this process); a machine
      // loaded by the rest of the suite may take a while to start them.
      var underWay = false
      let deadline = ContinuousClock.now + .seconds(90)
      // Either user's: under load the creates take long enough for alice's tasks to be done first.
      while !underWay, ContinuousClock.now < deadline {
        for user in users where !underWay {
          underWay = try await tasks.listTasks(.with {
            $0.userID = user
            $0.status = .processing
          }).total > 0
        }
        if !underWay { try await Task.sleep(for: .milliseconds(20)) }
      }
      try #require(underWay, "no generation started within 90 s")
      return created
    }
    first.kill(SIGKILL)
    _ = await first.exitStatus()

    let second = try EaseldProcess(data: data, workers: 4)
    try await second.start()
    try await withUnixClient(second.socketPath) { client in
      let tasks = Easel_V1_TaskService.Client(wrapping: client)
      let credits = Easel_V1_CreditService.Client(wrapping: client)
      var finished: [Easel_V1_Task] = []
      for task in created {
        finished.append(
          try await tasks.streamTaskUpdates(.with {
            $0.userID = task.userID
            $0.taskID = task.id
          }) { response in
            var last = Easel_V1_Task()
            for try await update in response.messages { last = update.task }
            return last
          })
      }
      #expect(finished.allSatisfy { $0.status == .completed }, "every task finishes after the restart")
      #expect(finished.contains { $0.attempts == 2 }, "the interrupted ones ran again: \(finished.map { "\($0.attempts)" })")
      for user in users {
        let spent = finished.filter { $0.userID == user && $0.status == .completed }.map(\.creditCost).reduce(0, +)
        let balance = try await credits.getBalance(.with { $0.userID = user })
        #expect(balance.balance == 200 - spent && balance.held == 0, "\(user)")
        let ledger = try await credits.listLedger(.with {
          $0.userID = user
          $0.limit = 100
        }).entries
        for task in finished where task.userID == user {
          let kinds = ledger.filter { $0.taskID == task.id }.map(\.kind).sorted()
          #expect(kinds == ["CAPTURE", "HOLD"], "task \(task.id)")
        }
      }
    }
    second.kill(SIGTERM)
    #expect(await second.exitStatus() == 0, "SIGTERM is a clean exit")
    #expect(!FileManager.default.fileExists(atPath: second.socketPath))
    let audit = try await runTool("easeld", ["check-ledger", "--data", data.path])
    #expect(audit.status == 0)
    #expect(audit.stdout.contains("ledger consistent"))
  }

  @Test func sigtermDuringALongGenerationDrainsThenHandsTheTaskBack() async throws {
    let data = try TestServer.temporaryDirectory()
    let slow = try EaseldProcess(
      data: data, workers: 1, environment: ["EASEL_PROCEDURAL_DELAY_MS": "60000", "EASEL_DRAIN_TIMEOUT_MS": "1000"])
    try await slow.start()
    let id = try await withUnixClient(slow.socketPath) { client in
      let tasks = Easel_V1_TaskService.Client(wrapping: client)
      _ = try await Easel_V1_CreditService.Client(wrapping: client).grantCredits(.with {
        $0.userID = "ria"
        $0.amount = 10
      })
      let task = try await tasks.createTask(.with {
        $0.userID = "ria"
        $0.templateCode = "txt2img"
        $0.parameters.fields["prompt"] = .init(stringValue: "slow")
      })
      while try await tasks.getTask(.with { $0.userID = "ria"; $0.taskID = task.id }).status != .processing {
        try await Task.sleep(for: .milliseconds(20))
      }
      return task.id
    }
    let stopping = ContinuousClock.now
    slow.kill(SIGTERM)
    #expect(await slow.exitStatus() == 0)
    #expect(ContinuousClock.now - stopping < .seconds(15), "the drain timeout cuts a 60 s generation short")

    let next = try EaseldProcess(data: data, workers: 1)
    try await next.start()
    let done = try await withUnixClient(next.socketPath) { client in
      try await Easel_V1_TaskService.Client(wrapping: client).streamTaskUpdates(.with {
        $0.userID = "ria"
        $0.taskID = id
      }) { response in
        var last = Easel_V1_Task()
        for try await update in response.messages { last = update.task }
        return last
      }
    }
    next.kill(SIGTERM)
    _ = await next.exitStatus()
    #expect(done.status == .completed && done.attempts == 2)
  }

  @Test func easelWatchResumesAcrossAServerRestart() async throws {
    let data = try TestServer.temporaryDirectory()
    let first = try EaseldProcess(data: data, workers: 0)
    try await first.start()
    let id = try await createFundedTask(on: first.socketPath, user: "wen", prompt: "patience")
    // `easel watch` follows the PENDING task; the server stops and a new one (with workers) starts.
    let watch = try LiveProcess("easel", ["watch", id, "--user", "wen", "--server", "unix:\(first.socketPath)"])
    try await watch.waitForLine(within: .seconds(20)) { $0.contains("PENDING") }
    first.kill(SIGTERM)
    #expect(await first.exitStatus() == 0)
    let second = try EaseldProcess(data: data, workers: 1)
    try await second.start()
    let status = await watch.exitStatus()
    second.kill(SIGTERM)
    _ = await second.exitStatus()
    #expect(status == 0)
    let lines = watch.lines
    #expect(lines.first?.contains("PENDING") == true && lines.last?.contains("COMPLETED") == true, "\(lines)")
    #expect(lines.filter { $0.contains("PENDING") }.count == 1, "no update twice: \(lines)")
  }

  @Test func logsAreJSONLinesWithTheTaskAndTheCallButNoSecrets() async throws {
    let data = try TestServer.temporaryDirectory()
    let log = data.appendingPathComponent("stderr.log")
    FileManager.default.createFile(atPath: log.path, contents: nil)
    let node = try EaseldProcess(
      data: data, workers: 1,
      environment: ["EASEL_LOG_FORMAT": "json", "EASEL_LOG_LEVEL": "debug", "STABLE_DIFFUSION_API_KEY": "sk-never-logged"])
    node.process.standardError = try FileHandle(forWritingTo: log)
    try await node.start()
    let server = ["--server", "unix:\(node.socketPath)", "--user", "lin"]
    #expect(try await runTool("easel", ["credits", "grant", "10"] + server).status == 0)
    let created = try await runTool(
      "easel", ["create", "--template", "txt2img", "--prompt", "a secret garden", "--priority", "7", "--wait"] + server)
    #expect(created.status == 0 && created.stdout.contains("priority 7"), "\(created.stdout)\(created.stderr)")
    node.kill(SIGTERM)
    #expect(await node.exitStatus() == 0)
    let stderr = String(decoding: try Data(contentsOf: log), as: UTF8.self)
    let objects = try stderr.split(separator: "\n").map { line in
      try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String], "\(line)")
    }
    #expect(objects.allSatisfy { $0["level"] != nil && $0["message"] != nil && $0["timestamp"] != nil })
    #expect(objects.contains { $0["message"] == "listening" })
    let completed = objects.first { $0["message"] == "task changed" && $0["task.status"] == "COMPLETED" }
    #expect(completed?["user"] == "lin" && completed?["platform"] == "default" && completed?["task.id"] != nil)
    #expect(objects.contains { $0["message"] == "rpc" && $0["rpc.method"] == "easel.v1.TaskService/CreateTask" && $0["rpc.code"] == "ok" })
    #expect(!stderr.contains("sk-never-logged") && !stderr.contains("a secret garden"), "no secrets or prompts")
  }


  @Test func cliSettingsComeFromFlagsThenEnvironmentThenTheConfigFile() async throws {
    try await withTestServer { server in
      for user in ["from-file", "from-env", "from-flag"] { try await server.grant(user, 1) }
      let config = server.directory.appendingPathComponent("config.toml")
      try """
        # easel CLI settings
        server = "unix:\(server.endpoints.unixSocketPath)"
        user = "from-file"
        """.write(to: config, atomically: true, encoding: .utf8)
      let file = ["EASEL_CLI_CONFIG": config.path, "EASEL_CONFIG": "/nonexistent/easeld.yaml"]
      let fromFile = try await runTool("easel", ["credits", "balance"], environment: file)
      #expect(fromFile.status == 0 && fromFile.stdout.contains("default/from-file"), "\(fromFile.stderr)")
      let fromEnv = try await runTool(
        "easel", ["credits", "balance"], environment: file.merging(["EASEL_USER": "from-env"]) { $1 })
      #expect(fromEnv.stdout.contains("default/from-env"))
      let fromFlag = try await runTool(
        "easel", ["credits", "balance", "--user", "from-flag"], environment: file.merging(["EASEL_USER": "from-env"]) { $1 })
      #expect(fromFlag.stdout.contains("default/from-flag"))
      try "colour = \"red\"".write(to: config, atomically: true, encoding: .utf8)
      let bad = try await runTool("easel", ["credits", "balance", "--user", "x", "--server", "unix:/tmp/none.sock"], environment: file)
      #expect(bad.stderr.contains("unknown key colour"))
    }
  }

  @Test func theCLIDrivesTheServer() async throws {
    try await withTestServer { server in
      let env = ["EASEL_SERVER": "unix:\(server.endpoints.unixSocketPath)", "EASEL_USER": "cli-user"]
      let grant = try await runTool("easel", ["credits", "grant", "30"], environment: env)
      #expect(grant.status == 0 && grant.stdout.contains("available 30"))

      let create = try await runTool(
        "easel", ["create", "--template", "txt2img", "--prompt", "a kite", "--param", "width=128", "--wait", "--json"],
        environment: env)
      #expect(create.status == 0, "\(create.stderr)")
      let lastLine = try #require(create.stdout.split(separator: "\n").last)
      let update = try Easel_V1_TaskUpdate(jsonString: String(lastLine))
      #expect(update.task.status == .completed)
      #expect(update.task.parameters.fields["width"]?.numberValue == 128)

      // `easel watch` draws a progress bar on a terminal and prints plain lines when piped.
      let piped = try await runTool("easel", ["watch", update.task.id], environment: env)
      #expect(piped.stdout.contains("COMPLETED 100%") && !piped.stdout.contains("█"))
      let easel = try Binaries.url("easel").path
      let terminal = try await runTool(
        "script", ["-q", "-e", "-c", "\(easel) watch \(update.task.id)", "/dev/null"], environment: env)
      #expect(terminal.stdout.contains("\u{1B}[K[████████████████████] 100% COMPLETED"), "\(terminal.stdout)")

      let file = server.directory.appendingPathComponent("kite.png").path
      let download = try await runTool("easel", ["download", update.task.id, "-o", file], environment: env)
      #expect(download.status == 0 && download.stdout.contains("image/png"))
      #expect(FileManager.default.fileExists(atPath: file))

      let missing = try await runTool("easel", ["get", "no-such-task"], environment: env)
      #expect(missing.status == 1)
      #expect(missing.stderr.contains("task no-such-task does not exist"))

      let broke = try await runTool(
        "easel", ["create", "--template", "txt2img", "--prompt", "x", "--param", "quality=high"],
        environment: env.merging(["EASEL_USER": "nobody"]) { $1 })
      #expect(broke.status == 1 && broke.stderr.contains("insufficient credits: need 15, available 0"))

      let reload = try await runTool("easel", ["templates", "--reload"], environment: env)
      #expect(reload.status == 0 && reload.stdout.contains("txt2img"))
      let template = try await runTool("easel", ["templates", "outfit_change"], environment: env)
      #expect(template.stdout.contains("clothingDescription (string, required)"), "\(template.stdout)")

      let adjust = try await runTool(
        "easel", ["credits", "adjust", "--amount=-5", "--reason", "correction"], environment: env)
      #expect(adjust.status == 0 && adjust.stdout.contains("balance 15"), "\(adjust.stdout)\(adjust.stderr)")
    }
    let commands = [
      ["create"], ["get"], ["list"], ["watch"], ["cancel"], ["download"], ["templates"], ["completion"],
      ["credits", "balance"], ["credits", "grant"], ["credits", "adjust"], ["credits", "ledger"],
    ]
    for command in commands {
      let help = try await runTool("easel", command + ["--help"])
      #expect(help.stdout.contains("Example"), "easel \(command.joined(separator: " ")) --help has examples")
    }
    for shell in ["bash", "zsh", "fish"] {
      let script = try await runTool("easel", ["completion", shell])
      #expect(script.status == 0 && script.stdout.contains("create") && script.stdout.contains("download"), "\(shell)")
    }
    #expect(try await runTool("easel", ["completion", "tcsh"]).status != 0)
    let unreachable = try await runTool(
      "easel", ["credits", "balance", "--user", "x", "--server", "unix:/tmp/no-such-easel.sock"])
    #expect(unreachable.status == 1 && unreachable.stderr.contains("cannot reach easeld"))
  }
}
