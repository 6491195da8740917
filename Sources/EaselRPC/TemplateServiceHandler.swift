import EaselCore
import GRPCCore
import Logging

/// `easel.v1.TemplateService`.
public struct TemplateServiceHandler: Easel_V1_TemplateService.SimpleServiceProtocol {
  let templates: TemplateCatalog
  let pricing: Pricing
  let reload: @Sendable () async throws -> [Template]
  let logger: Logger

  public init(
    templates: TemplateCatalog, pricing: Pricing, reload: @escaping @Sendable () async throws -> [Template],
    logger: Logger
  ) {
    self.templates = templates
    self.pricing = pricing
    self.reload = reload
    self.logger = logger
  }

  public func listTemplates(request: Easel_V1_ListTemplatesRequest, context: ServerContext) async throws
    -> Easel_V1_ListTemplatesResponse
  {
    let kind = GenerationKind(request.type)
    let matching = templates.current.filter { template in
      (kind == nil || template.kind == kind) && (request.category.isEmpty || template.category == request.category)
    }
    return .with { $0.templates = matching.map { Easel_V1_Template($0, pricing: pricing) } }
  }

  public func getTemplate(request: Easel_V1_GetTemplateRequest, context: ServerContext) async throws -> Easel_V1_Template {
    try await mappingErrors("GetTemplate", context: context, logger: logger) {
      guard !request.code.isEmpty else { throw EaselError.invalidArgument("code is required") }
      return Easel_V1_Template(try await templates.template(code: request.code, version: request.version), pricing: pricing)
    }
  }

  public func reloadTemplates(request: Easel_V1_ReloadTemplatesRequest, context: ServerContext) async throws
    -> Easel_V1_ListTemplatesResponse
  {
    try await mappingErrors("ReloadTemplates", context: context, logger: logger) {
      try Caller.current.require(.manageTemplates)
      let loaded = try await reload()
      return .with { $0.templates = loaded.map { Easel_V1_Template($0, pricing: pricing) } }
    }
  }
}
