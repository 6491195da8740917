/// The declared shape of one template parameter.
public struct ParameterSpec: Hashable, Sendable, Codable {
  public enum ValueType: String, Hashable, Sendable, Codable, CaseIterable {
    case string, integer, number, boolean
    case enumeration = "enum"
  }

  public var name: String
  public var type: ValueType
  public var required: Bool
  public var defaultValue: ParameterValue?
  public var minimum: Double?
  public var maximum: Double?
  public var maxLength: Int?
  public var allowedValues: [String]
  public var description: String

  public init(
    name: String, type: ValueType, required: Bool = false, defaultValue: ParameterValue? = nil,
    minimum: Double? = nil, maximum: Double? = nil, maxLength: Int? = nil,
    allowedValues: [String] = [], description: String = ""
  ) {
    self.name = name
    self.type = type
    self.required = required
    self.defaultValue = defaultValue
    self.minimum = minimum
    self.maximum = maximum
    self.maxLength = maxLength
    self.allowedValues = allowedValues
    self.description = description
  }

  /// The longest string value a parameter takes when its spec sets no `max_length`.
  public static let maxStringLength = 4000

  /// Checks a caller's value against this spec and returns it in its canonical form
  /// (whole numbers become integers for integer parameters).
  public func validate(_ value: ParameterValue) throws(EaselError) -> ParameterValue {
    let field = "parameters.\(name)"
    switch type {
    case .string, .enumeration:
      guard let text = value.stringValue else { throw .invalidArgument("\(field) must be a string") }
      let limit = maxLength ?? ParameterSpec.maxStringLength
      if text.count > limit {
        throw .invalidArgument("\(field) is longer than \(limit) characters")
      }
      if type == .enumeration, !allowedValues.contains(text) {
        throw .invalidArgument("\(field) must be one of \(allowedValues.joined(separator: ", ")); got \"\(text)\"")
      }
      return .string(text)
    case .integer:
      guard let number = value.integerValue else { throw .invalidArgument("\(field) must be an integer") }
      try checkRange(Double(number), field: field)
      return .integer(number)
    case .number:
      guard let number = value.numberValue, number.isFinite else { throw .invalidArgument("\(field) must be a number") }
      try checkRange(number, field: field)
      return .number(number)
    case .boolean:
      guard case .bool = value else { throw .invalidArgument("\(field) must be true or false") }
      return value
    }
  }

  private func checkRange(_ number: Double, field: String) throws(EaselError) {
    if let minimum, number < minimum {
      throw .invalidArgument("\(field) must be at least \(ParameterValue.number(minimum).text); got \(ParameterValue.number(number).text)")
    }
    if let maximum, number > maximum {
      throw .invalidArgument("\(field) must be at most \(ParameterValue.number(maximum).text); got \(ParameterValue.number(number).text)")
    }
  }
}
