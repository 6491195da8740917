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

  @Option(help: "Retention: a number followed by d (days), h (hours), m (minutes) or s (seconds).")
  var olderThan: String

  @Flag(help: "Count the tasks and artifacts that would be deleted, and delete nothing.")
  var dryRun = false

  func run() async throws {
    let cutoff = Date().addingTimeInterval(-(try DurationText.seconds(olderThan, of: "--older-than")))
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
}
