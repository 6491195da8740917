import EaselCore
import Foundation
import Testing

@testable import EaselCore

@Suite struct RunningTasksTests {
  static func processing(_ id: String, cancelRequested: Bool) throws -> GenerationTask {
    GenerationTask(
      id: id, account: try Account(platform: "p", userID: "u"), kind: .image, status: .processing, prompt: "x",
      parameters: [:], template: TemplateRef(code: "c", name: "C", version: "1", category: "k"), backend: "procedural",
      creditCost: 1, createdAt: Date(), updatedAt: Date(), cancelRequestedAt: cancelRequested ? Date() : nil)
  }

  @Test func aStoredCancelRequestStopsTheRunHere() async throws {
    let running = RunningTasks()
    let canceled = running.start("a")
    running.observe(try Self.processing("a", cancelRequested: false))  // a progress update: nothing
    running.observe(try Self.processing("a", cancelRequested: true))
    var iterator = canceled.makeAsyncIterator()
    #expect(await iterator.next() != nil)
    running.finish("a")
  }

  @Test func aRequestBeforeTheRunStartsIsRememberedForAWhileOnly() async throws {
    let running = RunningTasks(earlyCancelMemory: .milliseconds(50))
    running.observe(try Self.processing("early", cancelRequested: true))
    var iterator = running.start("early").makeAsyncIterator()
    #expect(await iterator.next() != nil, "claimed a moment before the request arrived: still stopped")
    // Requests for tasks that run on other nodes are forgotten, not kept for ever.
    running.observe(try Self.processing("elsewhere", cancelRequested: true))
    #expect(running.rememberedCancels == 1)
    try await Task.sleep(for: .milliseconds(60))
    running.observe(try Self.processing("elsewhere-too", cancelRequested: true))
    #expect(running.rememberedCancels == 1, "the old request was dropped")
  }
}
