import Foundation

/// CPU time spent by one PostgreSQL cluster's processes, from /proc: the postmaster (whose
/// children's time includes every backend that has exited) and its live children. Taken around
/// a run, it says what the database itself spent per operation, whoever else shares the machine.
struct DatabaseCPU {
  let postmaster: Int32

  /// The cluster behind `url` (its postmaster is the checkpointer's parent).
  init(url: String) throws {
    let checkpointer = try shell("psql", [url, "-tAc", "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'"])
      .trimmingCharacters(in: .whitespacesAndNewlines)
    guard let pid = Int32(checkpointer), let parent = Self.parent(of: pid) else {
      throw BenchError("no checkpointer found through \(url)")
    }
    postmaster = parent
  }

  /// Seconds of CPU the cluster has used so far.
  func seconds() -> Double {
    let processes = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
    let ticks = processes.filter { $0 == postmaster || Self.parent(of: $0) == postmaster }.map { Self.ticks(of: $0) }.reduce(0, +)
    return Double(ticks) / Double(sysconf(Int32(_SC_CLK_TCK)))
  }

  private static func stat(_ pid: Int32) -> [Substring]? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let close = text.lastIndex(of: ")")
    else { return nil }
    return text[text.index(after: close)...].split(separator: " ")  // fields from the state on
  }

  private static func parent(of pid: Int32) -> Int32? {
    stat(pid).flatMap { $0.count > 1 ? Int32($0[1]) : nil }
  }

  /// utime, stime, cutime and cstime (fields 14 to 17 of stat; 12 to 15 after the command).
  private static func ticks(of pid: Int32) -> Int {
    guard let fields = stat(pid), fields.count > 14 else { return 0 }
    return fields[11...14].compactMap { Int($0) }.reduce(0, +)
  }
}
