import ArgumentParser
import EaselSQLite
import Foundation

struct CheckLedger: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check-ledger",
    abstract: "Recompute every credit account and hold from the ledger and report any disagreement.",
    discussion: "Safe while easeld runs (it only reads). Exits 1 if anything disagrees.")

  @Option(name: .customLong("data"), help: "Data folder (env EASEL_DATA_DIR, default ./easel-data).")
  var dataDirectory: String?

  func run() async throws {
    let data = dataDirectory ?? Environment(ProcessInfo.processInfo.environment)["EASEL_DATA_DIR"] ?? "./easel-data"
    let path = URL(fileURLWithPath: data).appendingPathComponent("easel.sqlite").path
    guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("no database at \(path)") }
    let problems = try await SQLiteTaskStore(path: path).auditCredits()
    for problem in problems { print(problem) }
    print(problems.isEmpty ? "ledger consistent" : "\(problems.count) problems")
    if !problems.isEmpty { throw ExitCode(1) }
  }
}
