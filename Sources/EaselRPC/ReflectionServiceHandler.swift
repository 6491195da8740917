import GRPCCore
import SwiftProtobuf

/// `grpc.reflection.v1.ServerReflection`, so generic tools can list services and call methods
/// without Easel's protos.
public struct ReflectionServiceHandler: Grpc_Reflection_V1_ServerReflection.SimpleServiceProtocol {
  let index = ReflectionIndex.shared

  public init() {}

  public func serverReflectionInfo(
    request: RPCAsyncSequence<Grpc_Reflection_V1_ServerReflectionRequest, any Error>,
    response: RPCWriter<Grpc_Reflection_V1_ServerReflectionResponse>, context: ServerContext
  ) async throws {
    for try await message in request {
      try await response.write(answer(message))
    }
  }

  func answer(_ request: Grpc_Reflection_V1_ServerReflectionRequest) -> Grpc_Reflection_V1_ServerReflectionResponse {
    var response = Grpc_Reflection_V1_ServerReflectionResponse()
    response.validHost = request.host
    response.originalRequest = request
    func files(_ name: String?, missing: String) {
      if let name, let files = index.fileWithDependencies(name) {
        response.fileDescriptorResponse = .with { $0.fileDescriptorProto = files }
      } else {
        response.errorResponse = .with {
          $0.errorCode = Int32(RPCError.Code.notFound.rawValue)
          $0.errorMessage = missing
        }
      }
    }
    switch request.messageRequest {
    case .listServices:
      response.listServicesResponse = .with { list in
        list.service = index.services.map { name in .with { $0.name = name } }
      }
    case .fileByFilename(let name):
      files(name, missing: "file \(name) is not known")
    case .fileContainingSymbol(let symbol):
      files(index.file(containing: symbol), missing: "symbol \(symbol) is not known")
    case .fileContainingExtension(let extensionRequest):
      files(nil, missing: "no extension \(extensionRequest.extensionNumber) of \(extensionRequest.containingType)")
    case .allExtensionNumbersOfType(let type):
      if index.file(containing: type) != nil {
        response.allExtensionNumbersResponse = .with { $0.baseTypeName = type }
      } else {
        files(nil, missing: "type \(type) is not known")
      }
    case nil:
      files(nil, missing: "the request names nothing to look up")
    }
    return response
  }
}

/// The same service under its older `grpc.reflection.v1alpha` name, which many tools still ask for.
/// Its messages are the v1 messages under another package, identical on the wire.
public struct ReflectionV1AlphaServiceHandler: Grpc_Reflection_V1alpha_ServerReflection.SimpleServiceProtocol {
  let v1 = ReflectionServiceHandler()

  public init() {}

  public func serverReflectionInfo(
    request: RPCAsyncSequence<Grpc_Reflection_V1alpha_ServerReflectionRequest, any Error>,
    response: RPCWriter<Grpc_Reflection_V1alpha_ServerReflectionResponse>, context: ServerContext
  ) async throws {
    for try await message in request {
      let asV1 = try Grpc_Reflection_V1_ServerReflectionRequest(serializedBytes: try message.serializedBytes() as [UInt8])
      let answer: [UInt8] = try v1.answer(asV1).serializedBytes()
      try await response.write(try Grpc_Reflection_V1alpha_ServerReflectionResponse(serializedBytes: answer))
    }
  }
}
