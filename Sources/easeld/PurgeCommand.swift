import ArgumentParser
import EaselCore
import Foundation

struct PurgeCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "purge",
    abstract: "Delete finished tasks older than a retention period, with their artifacts; the ledger stays.",
    discussion: """
      Examples:
        easeld purge --older-than 30d --dry-run      # count what would go
        easeld purge --older-than 30d --config /etc/easel/easel.yaml
      Safe while easeld runs.
      """)

  @OptionGroup var options: MaintenanceOptions

  @Option(help: "Retention: a number followed by d (days), h (hours) or m (minutes).")
  var olderThan: String

  @Flag(help: "Count the tasks and artifacts that would be deleted, and delete nothing.")
  var dryRun = false

  func run() async throws {
    let cutoff = Date().addingTimeInterval(-(try Self.seconds(olderThan)))
    try await reportingFailures {
      if dryRun {
        let found = try await options.withExistingStore { try await $0.purgeableTasks(finishedBefore: cutoff) }
        print("would purge \(found.tasks) tasks and \(found.artifacts) artifacts finished more than \(olderThan) ago")
        return
      }
      let purged = try await options.withExistingStore { try await $0.purgeTasks(finishedBefore: cutoff) }
      let artifacts = try options.configuration().artifactStore()
      var failed: [String] = []
      for key in purged.artifactKeys {
        do { try await artifacts.delete(key: key) } catch { failed.append("\(key): \(error)") }
      }
      print("purged \(purged.tasks) tasks and \(purged.artifactKeys.count - failed.count) artifacts finished more than \(olderThan) ago")
      guard failed.isEmpty else {
        throw EaseldFailure("these artifacts could not be deleted; delete them by hand:\n" + failed.joined(separator: "\n"))
      }
    }
  }

  static func seconds(_ text: String) throws -> TimeInterval {
    let units: [Character: TimeInterval] = ["d": 86_400, "h": 3_600, "m": 60]
    guard let unit = text.last.flatMap({ units[$0] }), let count = Double(text.dropLast()), count >= 0 else {
      throw ValidationError("--older-than \(text) is not like 30d, 12h or 90m")
    }
    return count * unit
  }
}
