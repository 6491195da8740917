import Testing

@testable import EaselCore

/// A stream waits a few ms for a task's queue count only while counts come that fast.
struct QueueEstimateCacheTests {
  @Test func aCallerWaitsForACountOnlyWhileTheLastOneWasQuickEnough() {
    let cache = QueueEstimateCache()
    let limit = Duration.milliseconds(10)
    #expect(cache.worthWaiting(atMost: limit), "no count yet: worth a try")
    cache.counted(in: .milliseconds(3))
    #expect(cache.worthWaiting(atMost: limit))
    cache.counted(in: .milliseconds(40))
    #expect(!cache.worthWaiting(atMost: limit), "a busy store: send at once")
    #expect(cache.worthWaiting(atMost: .milliseconds(50)), "a caller willing to wait longer still waits")
    cache.counted(in: .milliseconds(2))
    #expect(cache.worthWaiting(atMost: limit), "quick again: wait again")
  }
}
