import EaselCore
import Testing

@Suite struct PricingTests {
  let pricing = Pricing()
  let image = Fixtures.image
  let video = Fixtures.video

  @Test(arguments: [
    ("standard", "standard", Int64(10), Int64(50)),
    ("high", "standard", 15, 75),
    ("standard", "4k", 15, 75),
    ("high", "4k", 23, 113),
  ])
  func costsFollowTheOriginalDesign(quality: String, resolution: String, imageCost: Int64, videoCost: Int64) {
    let parameters: Parameters = ["quality": .string(quality), "resolution": .string(resolution)]
    #expect(pricing.cost(of: image, parameters: parameters) == imageCost)
    #expect(pricing.cost(of: video, parameters: parameters) == videoCost)
  }

  @Test func aTemplateCostOverridesTheDefaultAndIsRoundedUp() {
    var template = image
    template.creditCost = 7
    #expect(pricing.cost(of: template, parameters: [:]) == 7)
    #expect(pricing.cost(of: template, parameters: ["quality": .string("high")]) == 11)  // 10.5 → 11
  }

  @Test func configuredDefaultsApply() {
    let custom = Pricing(defaultImageCost: 4, defaultVideoCost: 20, highQualityMultiplier: 2)
    #expect(custom.cost(of: image, parameters: ["quality": .string("high")]) == 8)
    #expect(custom.cost(of: video, parameters: [:]) == 20)
  }
}
