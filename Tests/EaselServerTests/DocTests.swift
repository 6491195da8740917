import Foundation
import Testing

/// The README's shell examples, run as written so they cannot drift from the binaries. The blocks
/// marked `<!-- doc-test … -->` run in order in one shell, in an empty folder, with three
/// substitutions: the built binaries for `.build/debug/`, no `swift build` (the suite has built),
/// and a free port for `127.0.0.1:50051`, so a server the user runs is left alone.
@Suite(.timeLimit(.minutes(2)))
struct DocTests {
  static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../../README.md").standardizedFileURL

  /// The code of each block that follows a doc-test marker.
  static func markedBlocks(in text: String) -> [String] {
    var blocks: [String] = []
    var marked = false
    var current: [Substring]?
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
      if current != nil {
        if line.hasPrefix("```") {
          blocks.append(current!.joined(separator: "\n"))
          current = nil
        } else {
          current!.append(line)
        }
      } else if line.hasPrefix("<!-- doc-test") {
        marked = true
      } else if marked, line.hasPrefix("```") {
        current = []
        marked = false
      }
    }
    return blocks
  }

  @Test func theREADMEsMarkedShellExamplesRun() async throws {
    let blocks = Self.markedBlocks(in: try String(contentsOf: Self.readme, encoding: .utf8))
    #expect(blocks.count >= 2, "the README's doc-test blocks were not found")
    let bin = try Binaries.url("easeld").deletingLastPathComponent().path
    let port = try await runTool("python3", ["-c", "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"])
      .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    let commands = blocks.joined(separator: "\n").split(separator: "\n")
      .filter { !$0.hasPrefix("swift build") }
      .joined(separator: "\n")
      .replacingOccurrences(of: ".build/debug/", with: "\(bin)/")
      .replacingOccurrences(of: "127.0.0.1:50051", with: "127.0.0.1:\(port)")
    // The server the first block starts in the background is stopped at the end, whatever happened.
    let script = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + commands + "\n"
    let folder = try TestServer.temporaryDirectory()
    let run = try await runTool(
      "bash", ["-c", script], environment: ["EASEL_TCP": "127.0.0.1:\(port)", "EASEL_DATABASE_URL": ""], directory: folder)
    #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
    let image = try Data(contentsOf: folder.appendingPathComponent("fox.png"))
    #expect(image.starts(with: [0x89, 0x50, 0x4E, 0x47]))
    #expect(run.stdout.contains("TASK_STATUS_COMPLETED") && run.stdout.contains("ledger consistent"), "\(run.stdout)")
    #expect(run.stdout.contains("would purge 0 tasks"), "\(run.stdout)")
  }
}
