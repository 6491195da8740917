/// What a template produces.
public enum GenerationKind: String, Hashable, Sendable, Codable, CaseIterable {
  case image
  case video
}
