import ArgumentParser
import Foundation

struct CheckLedger: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check-ledger",
    abstract: "Recompute every credit account and hold from the ledger and report any disagreement.",
    discussion: "Safe while easeld runs (it only reads). Exits 1 if anything disagrees.")

  @OptionGroup var options: MaintenanceOptions

  func run() async throws {
    let problems = try await reportingFailures { try await options.withExistingStore { try await $0.auditCredits() } }
    for problem in problems { print(problem) }
    print(problems.isEmpty ? "ledger consistent" : "\(problems.count) problems")
    if !problems.isEmpty { throw ExitCode(1) }
  }
}
