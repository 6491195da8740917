import ArgumentParser
import Foundation

/// Durations as operators write them: a number followed by d, h, m or s (30d, 12h, 90m, 5s).
enum DurationText {
  static func seconds(_ text: String, of name: String) throws -> TimeInterval {
    let units: [Character: TimeInterval] = ["d": 86_400, "h": 3_600, "m": 60, "s": 1]
    guard let unit = text.last.flatMap({ units[$0] }), let count = Double(text.dropLast()), count >= 0 else {
      throw ValidationError("\(name) \(text) is not like 30d, 12h, 90m or 5s")
    }
    return count * unit
  }
}
