import ArgumentParser
import EaselCore
import EaselModels
import Foundation

extension Environment {
  /// A fleet's servers: comma-separated URLs in `urls` (each with the key in `key` and the
  /// backend's default `capacity`), and/or a JSON list in `list` — what a config file's list of
  /// endpoints becomes: `[{"url": "http://gpu1:7860", "key": "…", "capacity": 1, "labels": ["sdxl_base"]}]`.
  func endpoints(urls: String, key: String, list: String, capacity defaultCapacity: Int) throws -> [ModelEndpoint] {
    var endpoints: [ModelEndpoint] = []
    for url in (self[urls] ?? "").split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !url.isEmpty {
      endpoints.append(ModelEndpoint(url: try checkedURL(url, setting: urls), key: self[key], capacity: defaultCapacity))
    }
    guard let text = self[list] else { return endpoints }
    guard let entries = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else {
      throw ValidationError("\(describe(list)): expected a list of endpoints, each with a url (and key, capacity, labels)")
    }
    for entry in entries {
      guard let url = entry["url"] as? String else { throw ValidationError("\(describe(list)): an endpoint has no url") }
      let capacity = entry["capacity"] as? Int ?? defaultCapacity
      guard capacity >= 1 else { throw ValidationError("\(describe(list)): the capacity of \(url) must be 1 or more") }
      let labels = (entry["labels"] as? [Any] ?? []).map { "\($0)" }
      endpoints.append(
        ModelEndpoint(
          url: try checkedURL(url, setting: list), key: entry["key"] as? String ?? self[key], capacity: capacity,
          labels: Set(labels)))
    }
    return endpoints
  }

  private func checkedURL(_ url: String, setting: String) throws -> String {
    guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
      throw ValidationError("\(describe(setting)) must be http:// or https:// URLs; got \(url)")
    }
    return url
  }
}
