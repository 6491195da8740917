import EaselCore
import Foundation
import Synchronization

/// Parameters as decoded from their stored JSON, remembered by that JSON. A task's parameters never
/// change and a template's backend options are shared by all its tasks, so reading a task again
/// (GetTask polls, streams, workers) need not run the JSON decoder again; that decoding was the
/// largest cost of GetTask (see the README's Performance section).
final class DecodedParameters: Sendable {
  static let shared = DecodedParameters(capacity: 4096)

  private let capacity: Int
  private let cache = Mutex<[String: Parameters]>([:])

  init(capacity: Int) {
    self.capacity = capacity
  }

  func decode(_ json: String) throws -> Parameters {
    if let known = cache.withLock({ $0[json] }) { return known }
    let parameters = try JSONDecoder().decode(Parameters.self, from: Data(json.utf8))
    cache.withLock { cache in
      if cache.count >= capacity { cache.removeAll(keepingCapacity: true) }  // simple bound: start over
      cache[json] = parameters
    }
    return parameters
  }
}
