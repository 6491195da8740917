/// The template pack that ships with Easel; every template runs on the offline `procedural` backend.
public enum BuiltinTemplates {
  public static func all(imageBackend: String = "procedural", videoBackend: String = "procedural") -> [Template] {
    [
      Template(
        code: "txt2img", name: "Text to image", version: "1", category: "图片生成", kind: .image,
        description: "Generates an image from a text prompt.", backend: imageBackend,
        parameters: [prompt(required: true)] + imageParameters),
      Template(
        code: "img2img", name: "Image to image", version: "1", category: "图片生成", kind: .image,
        description: "Redraws an input photo following a text prompt.", backend: imageBackend,
        inputImage: .required,
        parameters: [prompt(required: true)] + imageParameters + [denoisingStrength]),
      Template(
        code: "outfit_change", name: "Outfit change", version: "1", category: "图片生成", kind: .image,
        description: "Dresses the person in the input photo in the described clothes.", backend: imageBackend,
        inputImage: .required,
        parameters: [
          ParameterSpec(
            name: "clothingDescription", type: .string, required: true, maxLength: 500,
            description: "The clothes to put on, e.g. \"a red wool coat\"."),
        ] + imageParameters + [denoisingStrength],
        promptTemplate: "a person wearing {clothingDescription}, studio photo, high detail"),
      Template(
        code: "txt2video", name: "Text to video", version: "1", category: "视频生成", kind: .video,
        description: "Generates a short video from a text prompt.", backend: videoBackend,
        parameters: [prompt(required: true)] + videoParameters),
      Template(
        code: "img2video", name: "Image to video", version: "1", category: "视频生成", kind: .video,
        description: "Animates an input image following a text prompt.", backend: videoBackend,
        inputImage: .required,
        parameters: [prompt(required: true)] + videoParameters),
    ]
  }

  static func prompt(required: Bool) -> ParameterSpec {
    ParameterSpec(
      name: "prompt", type: .string, required: required, maxLength: Template.maxPromptLength,
      description: "What to generate.")
  }

  static let quality = ParameterSpec(
    name: "quality", type: .enumeration, defaultValue: .string("standard"), allowedValues: ["standard", "high"],
    description: "\"high\" costs 1.5× the base price.")

  static let seed = ParameterSpec(
    name: "seed", type: .integer, minimum: 0, maximum: 4_294_967_295,
    description: "Same seed, same prompt, same result. Picked at random when absent.")

  static let imageParameters: [ParameterSpec] = [
    ParameterSpec(
      name: "negative_prompt", type: .string, defaultValue: .string("low quality, blurry, distorted"),
      maxLength: Template.maxPromptLength, description: "What to keep out of the image."),
    ParameterSpec(name: "width", type: .integer, defaultValue: .integer(512), minimum: 64, maximum: 2048, description: "Pixels."),
    ParameterSpec(name: "height", type: .integer, defaultValue: .integer(512), minimum: 64, maximum: 2048, description: "Pixels."),
    seed,
    quality,
    ParameterSpec(
      name: "resolution", type: .enumeration, defaultValue: .string("standard"), allowedValues: ["standard", "2k", "4k"],
      description: "A hint for the model; \"4k\" costs 1.5× more."),
  ]

  static let denoisingStrength = ParameterSpec(
    name: "denoising_strength", type: .number, defaultValue: .number(0.7), minimum: 0, maximum: 1,
    description: "How far the result may move away from the input image.")

  static let videoParameters: [ParameterSpec] = [
    ParameterSpec(name: "duration", type: .integer, defaultValue: .integer(5), minimum: 1, maximum: 60, description: "Seconds."),
    ParameterSpec(name: "fps", type: .integer, defaultValue: .integer(24), minimum: 1, maximum: 60, description: "Frames per second."),
    seed,
    quality,
    ParameterSpec(
      name: "resolution", type: .enumeration, defaultValue: .string("720p"), allowedValues: ["480p", "720p", "1080p", "4k"],
      description: "\"4k\" costs 1.5× more."),
  ]
}
