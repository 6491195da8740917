import ArgumentParser
import EaselArtifacts
import EaselCore
import Foundation

struct PurgeCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "purge",
    abstract: "Delete finished tasks older than a retention period, with their artifacts; the ledger stays.",
    discussion: "Example: easeld purge --older-than 30d --data /srv/easel (also fine while easeld runs).")

  @OptionGroup var data: DataFolderOption

  @Option(help: "Retention: a number followed by d (days), h (hours) or m (minutes).")
  var olderThan: String

  func run() async throws {
    let retention = try Self.seconds(olderThan)
    let purged = try await data.withExistingStore { try await $0.purgeTasks(finishedBefore: Date().addingTimeInterval(-retention)) }
    let s3 = try Environment(ProcessInfo.processInfo.environment).s3Settings()
    let artifacts: any ArtifactStore =
      if let s3 { S3ArtifactStore(settings: s3) } else { try LocalArtifactStore(root: data.folder.appendingPathComponent("artifacts")) }
    for key in purged.artifactKeys { try? await artifacts.delete(key: key) }
    print("purged \(purged.tasks) tasks and \(purged.artifactKeys.count) artifacts finished more than \(olderThan) ago")
  }

  static func seconds(_ text: String) throws -> TimeInterval {
    let units: [Character: TimeInterval] = ["d": 86_400, "h": 3_600, "m": 60]
    guard let unit = text.last.flatMap({ units[$0] }), let count = Double(text.dropLast()), count >= 0 else {
      throw ValidationError("--older-than \(text) is not like 30d, 12h or 90m")
    }
    return count * unit
  }
}
