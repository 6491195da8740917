import EaselCore
import Foundation
import Testing

/// Update-log snapshots outlive upgrades: one stored before a field existed still reads.
@Suite struct SnapshotTests {
  @Test func aSnapshotRoundTripsAndAnOlderOneTakesDefaults() throws {
    var task = try TaskTransitionTests.task(.completed)
    task.priority = 8
    task.queueRank = 4.5
    task.previewStep = 3
    task.retentionMs = 60_000
    task.expiresAt = Date(timeIntervalSince1970: 1_000)
    task.pinnedAt = Date(timeIntervalSince1970: 900)
    task.webhook = WebhookRequest(url: "https://hooks.example/x", onStart: true, chosen: [.progress])
    let text = try StoredJSON.string(task)
    #expect(try StoredJSON.decode(GenerationTask.self, text) == task)

    // As a snapshot from before previews, priorities, retention and webhook events were stored.
    var old = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    for key in ["previewStep", "priority", "queueRank", "updateID", "startBy", "retentionMs", "expiresAt", "pinnedAt"] {
      old[key] = nil
    }
    var webhook = try #require(old["webhook"] as? [String: Any])
    webhook["chosen"] = nil
    old["webhook"] = webhook
    let read = try StoredJSON.decode(GenerationTask.self, String(decoding: try JSONSerialization.data(withJSONObject: old), as: UTF8.self))
    #expect(read.priority == FairQueue.defaultPriority && read.queueRank == 0 && read.previewStep == 0 && read.retentionMs == nil)
    #expect(read.webhook?.events == WebhookEvent.terminal.union([.started]) && read.id == task.id && read.status == .completed)
  }
}
