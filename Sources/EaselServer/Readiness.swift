import EaselRPC
import Synchronization

/// Collects the bound addresses and tells waiters once all listeners are up.
final class Readiness: Sendable {
  private struct State {
    var unix: String?
    var tcp: ServerConfiguration.TCPAddress?
    var metrics: ServerConfiguration.TCPAddress?
    var console: ServerConfiguration.TCPAddress?
    var bound = 0
    var result: EaselServer.Endpoints?
  }

  private let expected: Int
  private let serving: ServingState
  private let state = Mutex(State())
  private let (stream, continuation) = AsyncStream.makeStream(of: EaselServer.Endpoints.self)

  init(expected: Int, serving: ServingState) {
    self.expected = expected
    self.serving = serving
  }

  func listening(_ address: GRPCListener.Address) {
    bound { state in
      switch address {
      case .unix(let path): state.unix = path
      case .tcp(let tcp): state.tcp = tcp
      }
    }
  }

  func metricsListening(_ address: ServerConfiguration.TCPAddress) {
    bound { $0.metrics = address }
  }

  func consoleListening(_ address: ServerConfiguration.TCPAddress) {
    bound { $0.console = address }
  }

  private func bound(_ record: (inout State) -> Void) {
    let endpoints = state.withLock { state -> EaselServer.Endpoints? in
      record(&state)
      state.bound += 1
      guard state.bound == expected, let unix = state.unix else { return nil }
      state.result = EaselServer.Endpoints(unixSocketPath: unix, tcp: state.tcp, metrics: state.metrics, console: state.console)
      return state.result
    }
    if let endpoints {
      serving.set(serving: true)
      continuation.yield(endpoints)
      continuation.finish()
    }
  }

  func endpoints() async -> EaselServer.Endpoints? {
    if let result = state.withLock({ $0.result }) { return result }
    for await endpoints in stream { return endpoints }
    return state.withLock { $0.result }
  }

  func finish() { continuation.finish() }
}
