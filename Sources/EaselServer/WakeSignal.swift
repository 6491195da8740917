/// A wake-up for a loop that checks for work: any number of `wake()` calls while it is busy
/// amount to one more check.
public final class WakeSignal: Sendable {
  let wakes: AsyncStream<Void>
  private let continuation: AsyncStream<Void>.Continuation

  public init() {
    (wakes, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
  }

  public func wake() { continuation.yield() }
}
