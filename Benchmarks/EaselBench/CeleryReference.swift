import Foundation

/// The pipeline's reference, what a team would run instead: Celery 5 with a Redis broker and result
/// backend, 2 prefork workers, acks_late, no-op tasks; N sent and every result collected
/// (Benchmarks/celery/reference.py, which starts its own redis-server and worker on loopback).
struct CeleryReference {
  let python: String

  func tasksPerSecond(tasks: Int) throws -> Double {
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("celery/reference.py")
    let output = try shell(python, [script.path, String(tasks)])
    struct Result: Decodable { var tasks_per_second: Double }
    guard let line = output.split(separator: "\n").last else { throw BenchError("the Celery reference printed nothing") }
    return try JSONDecoder().decode(Result.self, from: Data(line.utf8)).tasks_per_second
  }
}
