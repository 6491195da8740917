import Foundation

#if canImport(Glibc)
  import Glibc
#endif

extension FileHandle {
  /// The next bytes available (blocking until some arrive), or none at end of file. Reads that a
  /// signal interrupts are retried: swift-corelibs-foundation's own readers trap on EINTR.
  public func readSome(upTo count: Int = 65_536) -> Data {
    var buffer = [UInt8](repeating: 0, count: count)
    while true {
      let read = buffer.withUnsafeMutableBytes { Glibc.read(fileDescriptor, $0.baseAddress, count) }
      if read >= 0 { return Data(buffer.prefix(read)) }
      if errno != EINTR { return Data() }
    }
  }

  /// Everything until end of file (see `readSome`).
  public func readToEndOfFile() -> Data {
    var data = Data()
    while case let chunk = readSome(), !chunk.isEmpty { data.append(chunk) }
    return data
  }
}
