import Foundation
import Synchronization

/// Latency samples and the summaries the report prints.
struct Latencies: Sendable {
  private(set) var samples: [Double] = []  // milliseconds

  mutating func add(_ milliseconds: Double) { samples.append(milliseconds) }
  mutating func add(_ duration: Duration) { samples.append(duration.milliseconds) }

  func percentile(_ p: Double) -> Double {
    guard !samples.isEmpty else { return .nan }
    let sorted = samples.sorted()
    let rank = Int((Double(sorted.count) * p / 100).rounded(.up)) - 1  // nearest-rank
    return sorted[min(max(rank, 0), sorted.count - 1)]
  }

  var p50: Double { percentile(50) }
  var p99: Double { percentile(99) }
}

extension Duration {
  var milliseconds: Double {
    Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
  }
  var seconds: Double { milliseconds / 1000 }
}

/// Resident memory of a process, from /proc.
func residentBytes(pid: Int32) -> Int {
  guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
    let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
  else { return 0 }
  return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
}

func format(_ value: Double, digits: Int = 1) -> String {
  value.isNaN ? "–" : String(format: "%.\(digits)f", value)
}

func mebibytes(_ bytes: Int) -> String { format(Double(bytes) / 1_048_576) + " MiB" }

/// Shared mutable state for the load tasks (a `Mutex` can't be captured by sending closures).
final class Locked<Value: Sendable>: Sendable {
  private let mutex: Mutex<Value>

  init(_ value: Value) { mutex = Mutex(value) }

  func withLock<T: Sendable>(_ body: (inout Value) -> T) -> T { mutex.withLock { body(&$0) } }
}

/// CPU seconds (user and system) the process has used, from /proc/PID/stat.
func cpuSeconds(pid: Int32) -> Double {
  guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else {
    return 0
  }
  let fields = stat[close...].split(separator: " ")
  return ((Double(fields[12]) ?? 0) + (Double(fields[13]) ?? 0)) / Double(sysconf(Int32(_SC_CLK_TCK)))  // fields 14 and 15
}

/// Where a process's resident memory is (/proc/PID/smaps): its own (heap, thread stacks, caches:
/// anonymous pages) and the code and data of its executable, the Swift runtime and Foundation, and
/// the other shared libraries (libvips and what it loads, SQLite, …), which are file-backed and
/// shared with every process that maps them.
func residentBreakdown(pid: Int32) -> [(part: String, bytes: Int)] {
  // Read to the end: procfs files report no size, and a read by size stops after one page.
  guard let file = FileHandle(forReadingAtPath: "/proc/\(pid)/smaps") else { return [] }
  defer { try? file.close() }
  let smaps = String(decoding: file.readDataToEndOfFile(), as: UTF8.self)
  var parts: [String: Int] = [:]
  var part = "own memory (heap, stacks, caches)"
  for line in smaps.split(separator: "\n") {
    let fields = line.split(separator: " ", omittingEmptySubsequences: true)
    if let first = fields.first, first.contains("-"), fields.count >= 5 {
      let path = fields.count >= 6 ? String(fields[5]) : ""
      part =
        if !path.hasPrefix("/") { "own memory (heap, stacks, caches)" }
        else if path.hasSuffix("/easeld") { "easeld's code" }
        else if path.contains("/swift/") { "Swift runtime and Foundation" }
        else { "other libraries (libvips and its loaders, SQLite, …)" }
    } else if fields.first == "Rss:", let kilobytes = fields.dropFirst().first.flatMap({ Int($0) }) {
      parts[part, default: 0] += kilobytes * 1024
    }
  }
  return parts.sorted { $0.value > $1.value }.map { ($0.key, $0.value) }
}
