import Testing

@testable import EaselRPC

/// A stream counts the queue for at most 50 updates a second, in bursts of up to 50.
struct QueueCountBudgetTests {
  @Test func aBurstGetsFiftyCountsThenFiftyASecond() {
    let start = ContinuousClock.now
    var budget = QueueCountBudget()
    let burst = (0..<80).filter { _ in budget.take(now: start) }.count
    #expect(burst == 50)
    let early = budget.take(now: start + .milliseconds(10))
    #expect(!early, "half a count has come back")
    let later = (0..<80).filter { _ in budget.take(now: start + .milliseconds(110)) }.count
    #expect(later == 5, "5.5 counts came back in 110 ms")
    let idle = (0..<80).filter { _ in budget.take(now: start + .seconds(10)) }.count
    #expect(idle == 50, "an idle stream saves up no more than one burst")
  }
}
