import Foundation
import Synchronization

/// Words and patterns a prompt may not contain (`EASEL_PROMPT_BLOCKLIST`), one a line:
/// - `/pattern/` is a regular expression; anything else is a word or phrase, matched whole;
///   both ignore case;
/// - `category: ` before either names what it blocks (`blocklist` when left out), which a refused
///   caller is told instead of the term;
/// - blank lines and lines starting with `#` are skipped.
public struct PromptBlocklist: @unchecked Sendable {  // NSRegularExpression is immutable and thread-safe
  struct Entry {
    let category: String
    let expression: NSRegularExpression
  }

  let entries: [Entry]

  public static let empty = PromptBlocklist(entries: [])

  private init(entries: [Entry]) { self.entries = entries }

  /// INVALID_ARGUMENT naming the first line that is not a valid entry.
  public init(text: String) throws(EaselError) {
    var entries: [Entry] = []
    for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      var line = raw.trimmingCharacters(in: .whitespaces)
      guard !line.isEmpty, !line.hasPrefix("#") else { continue }
      var category = "blocklist"
      if let colon = line.firstIndex(of: ":"), !line.hasPrefix("/"),
        line[..<colon].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" })
      {
        category = String(line[..<colon])
        line = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
      }
      let pattern =
        line.count > 2 && line.hasPrefix("/") && line.hasSuffix("/")
        ? String(line.dropFirst().dropLast())
        : "(?<![\\p{L}\\p{N}])" + NSRegularExpression.escapedPattern(for: line) + "(?![\\p{L}\\p{N}])"
      guard !category.isEmpty, !line.isEmpty,
        let expression = try? NSRegularExpression(pattern: pattern, options: [.caseInsensitive])
      else { throw .invalidArgument("blocklist line \(index + 1) is not a word, a /pattern/ or CATEGORY: either") }
      entries.append(Entry(category: category, expression: expression))
    }
    self.entries = entries
  }

  public var count: Int { entries.count }

  /// The category of the first entry `text` contains, if any.
  public func category(of text: String) -> String? {
    let range = NSRange(text.startIndex..., in: text)
    return entries.first { $0.expression.firstMatch(in: text, range: range) != nil }?.category
  }
}
