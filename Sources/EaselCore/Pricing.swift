/// Credit prices, as in the original design: a template's base cost (or the kind's default),
/// times 1.5 for `quality = "high"`, times 1.5 again for `resolution = "4k"`, rounded up;
/// per output.
public struct Pricing: Hashable, Sendable {
  public var defaultImageCost: Int64
  public var defaultVideoCost: Int64
  public var highQualityMultiplier: Double
  public var fourKMultiplier: Double

  public init(
    defaultImageCost: Int64 = 10, defaultVideoCost: Int64 = 50,
    highQualityMultiplier: Double = 1.5, fourKMultiplier: Double = 1.5
  ) {
    self.defaultImageCost = defaultImageCost
    self.defaultVideoCost = defaultVideoCost
    self.highQualityMultiplier = highQualityMultiplier
    self.fourKMultiplier = fourKMultiplier
  }

  public func baseCost(of template: Template) -> Int64 {
    template.creditCost ?? (template.kind == .image ? defaultImageCost : defaultVideoCost)
  }

  /// The cost of one task, fixed when it is created: the price of one output times `outputs`.
  public func cost(of template: Template, parameters: Parameters, outputs: Int = 1) -> Int64 {
    var cost = Double(baseCost(of: template))
    if parameters["quality"]?.stringValue == "high" { cost *= highQualityMultiplier }
    if parameters["resolution"]?.stringValue?.lowercased() == "4k" { cost *= fourKMultiplier }
    return Int64(cost.rounded(.up)) * Int64(outputs)
  }
}
