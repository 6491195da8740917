import EaselCore

/// Templates built in code, so the domain's tests don't depend on the YAML pack.
enum Fixtures {
  static let quality = ParameterSpec(
    name: "quality", type: .enumeration, defaultValue: .string("standard"), allowedValues: ["standard", "high"])
  static let seed = ParameterSpec(name: "seed", type: .integer, minimum: 0, maximum: 4_294_967_295)

  static let image = Template(
    code: "txt2img", name: "Text to image", version: "1", category: "图片生成", kind: .image, description: "",
    backend: "procedural",
    parameters: [
      ParameterSpec(name: "prompt", type: .string, required: true, maxLength: 4000),
      ParameterSpec(name: "negative_prompt", type: .string, defaultValue: .string("low quality, blurry, distorted")),
      ParameterSpec(name: "width", type: .integer, defaultValue: .integer(512), minimum: 64, maximum: 2048),
      seed, quality,
      ParameterSpec(
        name: "resolution", type: .enumeration, defaultValue: .string("standard"), allowedValues: ["standard", "2k", "4k"]),
    ])

  static let imageToImage = Template(
    code: "img2img", name: "Image to image", version: "1", category: "图片生成", kind: .image, description: "",
    backend: "procedural", inputImage: .required,
    parameters: [ParameterSpec(name: "prompt", type: .string, required: true)])

  static let outfit = Template(
    code: "outfit_change", name: "Outfit change", version: "1", category: "图片生成", kind: .image, description: "",
    backend: "procedural", inputImage: .required,
    parameters: [ParameterSpec(name: "clothingDescription", type: .string, required: true, maxLength: 500)],
    promptTemplate: "a person wearing {clothingDescription}, studio photo, high detail")

  static let video = Template(
    code: "txt2video", name: "Text to video", version: "1", category: "视频生成", kind: .video, description: "",
    backend: "procedural",
    parameters: [
      ParameterSpec(name: "prompt", type: .string, required: true), quality,
      ParameterSpec(
        name: "resolution", type: .enumeration, defaultValue: .string("720p"), allowedValues: ["480p", "720p", "4k"]),
    ])

  static let all = [image, imageToImage, outfit, video]
}
