import EaselCore
import Testing

@Suite struct EndpointPoolTests {
  let refused = BackendFailure(code: "model_unreachable", message: "refused", isTransient: true)
  let busy = BackendFailure(code: "model_http_503", message: "busy", isTransient: true)

  @Test func aTaskHoldsOneSlotUntilItIsReleased() {
    let pool = EndpointPool(backend: "a1111", endpoints: [ModelEndpoint(url: "http://gpu1"), ModelEndpoint(url: "http://gpu2", capacity: 2)])
    #expect(pool.reserve(for: "t1", label: nil) && pool.reserve(for: "t2", label: nil) && pool.reserve(for: "t3", label: nil))
    #expect(!pool.reserve(for: "t4", label: nil) && !pool.hasFreeSlot, "three slots in all")
    #expect(pool.reserve(for: "t1", label: nil), "a task's own reservation stands")
    pool.release("t2")
    pool.release("t2")  // idempotent
    #expect(pool.hasFreeSlot && pool.reserve(for: "t4", label: nil))
    #expect(pool.statuses.map(\.busy).reduce(0, +) == 3)
  }

  @Test func labelsAreServedFirstThenTheLeastRecentlyUsed() {
    let pool = EndpointPool(
      backend: "a1111", endpoints: [ModelEndpoint(url: "http://plain"), ModelEndpoint(url: "http://xl", labels: ["sdxl"])])
    #expect(pool.reserve(for: "xl-task", label: "sdxl") && pool.endpoint(for: "xl-task")?.url == "http://xl")
    #expect(pool.reserve(for: "other", label: "sdxl") && pool.endpoint(for: "other")?.url == "http://plain", "preferred, not required")
    let lru = EndpointPool(backend: "a1111", endpoints: [ModelEndpoint(url: "http://1"), ModelEndpoint(url: "http://2")])
    _ = lru.reserve(for: "a", label: nil)
    lru.release("a")
    _ = lru.reserve(for: "b", label: nil)
    #expect(lru.endpoint(for: "a") == nil && lru.endpoint(for: "b")?.url != "http://1", "the one used last waits its turn")
  }

  @Test func aRefusedConnectionTakesAServerOutAndAProbeBringsItBack() {
    let pool = EndpointPool(backend: "a1111", endpoints: [ModelEndpoint(url: "http://gpu1")], baseCoolDown: .zero)
    pool.record("http://gpu1", failure: refused)
    #expect(pool.statuses.first?.state == .coolingDown && !pool.hasFreeSlot)
    #expect(pool.dueForProbe() == ["http://gpu1"], "its cool-down is over: half-open")
    pool.probed("http://gpu1", up: false)
    #expect(pool.statuses.first?.state == .coolingDown)
    pool.probed("http://gpu1", up: true)
    #expect(pool.statuses.first?.state == .healthy && pool.hasFreeSlot)
  }

  @Test func serverErrorsCountOnlyInARowAndBadRequestsNotAtAll() {
    let pool = EndpointPool(backend: "a1111", endpoints: [ModelEndpoint(url: "http://gpu1")])
    pool.record("http://gpu1", failure: busy)
    pool.record("http://gpu1", failure: busy)
    pool.record("http://gpu1", failure: nil)
    pool.record("http://gpu1", failure: busy)
    pool.record("http://gpu1", failure: BackendFailure(code: "model_http_400", message: "bad", isTransient: false))
    #expect(pool.statuses.first?.state == .healthy)
    pool.record("http://gpu1", failure: busy)
    pool.record("http://gpu1", failure: busy)
    #expect(pool.statuses.first?.state == .coolingDown, "three 5xx in a row")
  }

  @Test func aDrainedServerFinishesItsWorkAndTakesNoMore() {
    let pool = EndpointPool(backend: "a1111", endpoints: [ModelEndpoint(url: "http://gpu1")])
    #expect(pool.reserve(for: "running", label: nil))
    #expect(pool.setDraining("http://gpu1", true) && !pool.setDraining("http://nowhere", true))
    #expect(pool.endpoint(for: "running")?.url == "http://gpu1" && pool.statuses.first?.state == .draining)
    pool.release("running")
    #expect(!pool.reserve(for: "new", label: nil))
    _ = pool.setDraining("http://gpu1", false)
    #expect(pool.reserve(for: "new", label: nil))
  }
}
