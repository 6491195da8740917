import Foundation

/// One template parameter value, as a caller sends it and as a task stores it.
public enum ParameterValue: Hashable, Sendable {
  case string(String)
  case integer(Int64)
  case number(Double)
  case bool(Bool)

  public var stringValue: String? {
    if case .string(let value) = self { value } else { nil }
  }

  /// Integers and whole numbers (JSON and protobuf `Struct` carry every number as a double).
  public var integerValue: Int64? {
    switch self {
    case .integer(let value): value
    case .number(let value) where value.rounded() == value && abs(value) < 9.0e15: Int64(value)
    default: nil
    }
  }

  public var numberValue: Double? {
    switch self {
    case .integer(let value): Double(value)
    case .number(let value): value
    default: nil
    }
  }

  public var boolValue: Bool? {
    if case .bool(let value) = self { value } else { nil }
  }

  /// How the value reads in a prompt or a message.
  public var text: String {
    switch self {
    case .string(let value): value
    case .integer(let value): String(value)
    case .number(let value): value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    case .bool(let value): String(value)
    }
  }
}

extension ParameterValue: Codable {
  public init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    if let value = try? container.decode(Bool.self) {
      self = .bool(value)
    } else if let value = try? container.decode(Int64.self) {
      self = .integer(value)
    } else if let value = try? container.decode(Double.self) {
      self = .number(value)
    } else {
      self = .string(try container.decode(String.self))
    }
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    switch self {
    case .string(let value): try container.encode(value)
    case .integer(let value): try container.encode(value)
    case .number(let value): try container.encode(value)
    case .bool(let value): try container.encode(value)
    }
  }
}

/// A task's parameters by name.
public typealias Parameters = [String: ParameterValue]
