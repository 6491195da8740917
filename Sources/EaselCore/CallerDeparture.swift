import Synchronization

/// Tells a long stream that its caller has gone. gRPC reports a closed stream through the RPC's
/// cancellation handle, not by canceling the handler, so a stream waiting for its next live change
/// would otherwise hold its subscription until something is written. Ending the subscription
/// directly costs nothing per stream, where a second task watching for the departure cost a few KiB.
public final class CallerDeparture: Sendable {
  private struct State {
    var left = false
    var onLeave: (@Sendable () -> Void)?
  }

  private let state = Mutex(State())

  public init() {}

  /// The caller has gone: runs what was registered, once.
  public func leave() {
    let action = state.withLock { state in
      state.left = true
      defer { state.onLeave = nil }
      return state.onLeave
    }
    action?()
  }

  /// Runs `action` when the caller leaves, or now if it already has.
  func onLeave(_ action: @escaping @Sendable () -> Void) {
    let hasLeft = state.withLock { state in
      if !state.left { state.onLeave = action }
      return state.left
    }
    if hasLeft { action() }
  }
}
