import Foundation
import SwiftProtobuf

/// The proto files Easel serves, indexed for server reflection: by file name and by every
/// fully-qualified symbol (package.Message, package.Message.Nested, package.Enum,
/// package.Service, package.Service.Method).
struct ReflectionIndex: Sendable {
  static let shared = ReflectionIndex(
    descriptorSet: Data(base64Encoded: EmbeddedDescriptors.fileDescriptorSetBase64) ?? Data())

  private let files: [String: Google_Protobuf_FileDescriptorProto]
  private let serialized: [String: Data]
  private let symbols: [String: String]  // symbol → file name
  let services: [String]

  init(descriptorSet: Data) {
    let set = (try? Google_Protobuf_FileDescriptorSet(serializedBytes: descriptorSet)) ?? .init()
    var files: [String: Google_Protobuf_FileDescriptorProto] = [:]
    var serialized: [String: Data] = [:]
    var symbols: [String: String] = [:]
    var services: [String] = []
    for file in set.file {
      files[file.name] = file
      serialized[file.name] = try? file.serializedBytes()
      let prefix = file.package.isEmpty ? "" : file.package + "."
      func index(_ message: Google_Protobuf_DescriptorProto, in scope: String) {
        let name = scope + message.name
        symbols[name] = file.name
        for nested in message.nestedType { index(nested, in: name + ".") }
        for nested in message.enumType { symbols[name + "." + nested.name] = file.name }
      }
      for message in file.messageType { index(message, in: prefix) }
      for enumeration in file.enumType { symbols[prefix + enumeration.name] = file.name }
      for service in file.service {
        let name = prefix + service.name
        symbols[name] = file.name
        services.append(name)
        for method in service.method { symbols[name + "." + method.name] = file.name }
      }
    }
    self.files = files
    self.serialized = serialized
    self.symbols = symbols
    self.services = services.sorted()
  }

  func file(containing symbol: String) -> String? { symbols[symbol] }

  /// The file and everything it imports, transitively, each once, the file itself first.
  func fileWithDependencies(_ name: String) -> [Data]? {
    guard files[name] != nil else { return nil }
    var order: [String] = []
    var pending = [name]
    while let next = pending.popLast() {
      guard !order.contains(next), let file = files[next] else { continue }
      order.append(next)
      pending.append(contentsOf: file.dependency.reversed())
    }
    return order.compactMap { serialized[$0] }
  }
}
