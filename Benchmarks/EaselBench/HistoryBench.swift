import EaselCore
import EaselRPC
import EaselSQLite
import EaselServer
import Foundation
import GRDB

/// ListTasks against a user's history: the first page, a page 5,000 pages deep by `page_token`,
/// and the same page by number, for a user with a long history of ended tasks, against the same
/// calls for a user with 10 tasks on the same server (SQLite, under h2load over the Unix socket):
/// the first page, and a `page_token` page (after the newest task, so 9 tasks). First pages are
/// served from the server's page cache while nothing changes, so the token pages are the ones
/// that read the index.
struct HistoryBench {
  struct Figures {
    var small: H2Load.Result
    var smallToken: H2Load.Result
    var firstPage: H2Load.Result
    var deepToken: H2Load.Result
    var deepNumber: H2Load.Result
  }

  let easeld: URL
  let folder: URL
  let h2load: H2Load
  let history: Int
  let requests: Int

  func run() async throws -> Figures {
    let data = folder.appendingPathComponent("history")
    try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
    let cursor = try await fill(path: data.appendingPathComponent("easel.sqlite").path)
    let server = try ServerProcess(easeld: easeld, data: data, workers: 0)
    try await server.start()
    defer { Task { await server.stop() } }
    func list(_ name: String, user: String, page: Int32 = 0, token: String = "") throws -> URL {
      try h2load.frame(name, Easel_V1_ListTasksRequest.with {
        $0.userID = user
        $0.limit = 10
        $0.page = page
        $0.pageToken = token
      })
    }
    let deepPage = Int32(history / 2 / 10)
    let smallToken = try await server.withUnix { client in
      try await Easel_V1_TaskService.Client(wrapping: client).listTasks(.with { $0.userID = "small"; $0.limit = 1 }).nextPageToken
    }
    let bodies = [
      try list("list-small", user: "small"), try list("list-small-token", user: "small", token: smallToken),
      try list("list-first", user: "long"),
      try list("list-token", user: "long", token: cursor.token), try list("list-number", user: "long", page: deepPage),
    ]
    // Each request once with a real client first (h2load counts a gRPC error as a success).
    try await server.withUnix { client in
      let tasks = Easel_V1_TaskService.Client(wrapping: client)
      let first = try await tasks.listTasks(.with { $0.userID = "long"; $0.limit = 10 })
      let deep = try await tasks.listTasks(.with { $0.userID = "long"; $0.limit = 10; $0.pageToken = cursor.token })
      let numbered = try await tasks.listTasks(.with { $0.userID = "long"; $0.limit = 10; $0.page = deepPage })
      guard first.total == history, deep.tasks.count == 10, deep.tasks.map(\.id) == numbered.tasks.map(\.id) else {
        throw BenchError("the history listing is not what was filled: total \(first.total)")
      }
    }
    var results: [H2Load.Result] = []
    for body in bodies {
      let target = H2Load.Target.unix(path: server.socket)
      _ = try h2load.run("easel.v1.TaskService/ListTasks", body: body, target: target, requests: requests / 10, clients: 4, streams: 4)
      let slow = body == bodies[4]
      results.append(
        try h2load.run(
          "easel.v1.TaskService/ListTasks", body: body, target: target, requests: slow ? requests / 100 : requests, clients: 16,
          streams: 16))
    }
    return Figures(
      small: results[0], smallToken: results[1], firstPage: results[2], deepToken: results[3], deepNumber: results[4])
  }

  /// A store with 10 tasks of `small` and `history` COMPLETED tasks of `long`, copied in SQL from
  /// one real task (the store's own inserts would take minutes); returns the cursor halfway down.
  func fill(path: String) async throws -> TaskCursor {
    let store = try SQLiteTaskStore(path: path)
    let template = QueueBench.template
    for user in ["small", "long"] {
      let account = try Account(platform: "default", userID: user)
      _ = try await store.changeCredits(of: account, by: 1 << 40, kind: .grant, reason: "benchmark", idempotency: nil, now: Date())
      for _ in 0..<(user == "small" ? 10 : 1) {
        let request = try template.resolve(["prompt": .string("a listed picture")], hasInputImage: false)
        _ = try await store.createTask(
          NewTask(
            id: UUID().uuidString.lowercased(), account: account, template: template, request: request, creditCost: 10,
            inputImageKey: nil, idempotency: nil),
          now: Date())
      }
    }
    let queue = try DatabaseQueue(path: path)
    return try await queue.write { db in
      let columns = try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info('tasks')")
      let copied = columns.map { column in
        switch column {
        case "id": "printf('history-%07d', n)"
        case "status": "'COMPLETED'"
        case "created_at", "updated_at", "finished_at": "t.created_at - n"
        default: "t.\(column)"
        }
      }
      try db.execute(
        sql: """
          WITH RECURSIVE numbers(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM numbers WHERE n < ?)
          INSERT INTO tasks (\(columns.joined(separator: ", ")))
          SELECT \(copied.joined(separator: ", ")) FROM numbers, tasks t WHERE t.user_id = 'long'
          """, arguments: [history - 1])
      // The long user's one real task ends too; the trigger counts it, the copies are counted here.
      try db.execute(sql: "UPDATE tasks SET status = 'COMPLETED' WHERE user_id = 'long' AND status = 'PENDING'")
      try db.execute(sql: "UPDATE credit_accounts SET active_tasks = 0 WHERE user_id = 'long'")
      try db.execute(
        sql: "UPDATE task_counts SET count = count + ? WHERE user_id = 'long' AND status = 'COMPLETED'", arguments: [history - 1])
      let row = try Row.fetchOne(
        db,
        sql: "SELECT created_at, id FROM tasks WHERE user_id = 'long' ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET ?",
        arguments: [Int(history / 2 / 10) * 10 - 11])
      guard let row else { throw BenchError("no task halfway down the history") }
      return TaskCursor(createdAt: row["created_at"], id: row["id"])
    }
  }
}
