// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
  name: "Easel",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "easeld", targets: ["easeld"]),
    .executable(name: "easel", targets: ["easel"]),
    // The generated gRPC clients (and message types), for Swift services that call Easel.
    .library(name: "EaselRPC", targets: ["EaselRPC"]),
  ],
  dependencies: [
    .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
    .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
    .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
    .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    // Already built for grpc's TLS support; used here for SHA-256 of API keys.
    .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    // ComfyUI reports a prompt's progress, previews and end on a websocket.
    .package(url: "https://github.com/hummingbird-project/swift-websocket.git", from: "1.6.2"),
    .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    // Traces: the tracing API (already built for async-http-client) and its OTLP exporter.
    .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
    .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0"),
    // The operator console: an HTTP server and server-rendered templates.
    .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
  ],
  targets: [
    // Domain: templates, pricing, credit rules, task state machine, the ports and use cases. No I/O
    // dependencies: swift-log and swift-distributed-tracing are only APIs; their backends are
    // chosen by the executable.
    .target(
      name: "EaselCore",
      dependencies: [
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Tracing", package: "swift-distributed-tracing"),
      ],
      swiftSettings: strict
    ),

    // libvips: the system library, a tiny C shim (libvips' API is variadic), and the only Swift importer.
    .systemLibrary(name: "CVips", pkgConfig: "vips", providers: [.apt(["libvips-dev"])]),
    .target(name: "CEaselVips", dependencies: ["CVips"]),
    .target(name: "EaselImaging", dependencies: ["EaselCore", "CEaselVips"], swiftSettings: strict),

    .target(
      name: "EaselSQLite",
      dependencies: [
        "EaselCore", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Crypto", package: "swift-crypto"),
      ],
      swiftSettings: strict
    ),
    // The shared store for several nodes: the same tables in PostgreSQL, LISTEN/NOTIFY as the change feed.
    .target(
      name: "EaselPostgres",
      dependencies: [
        "EaselCore",
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      swiftSettings: strict
    ),
    // Template files (YAML) and the built-in pack.
    .target(
      name: "EaselTemplates",
      dependencies: ["EaselCore", .product(name: "Yams", package: "Yams")],
      resources: [.copy("Builtin")],
      swiftSettings: strict
    ),
    .target(
      name: "EaselArtifacts",
      dependencies: [
        "EaselCore",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      swiftSettings: strict
    ),
    .target(
      name: "EaselModels",
      dependencies: [
        "EaselCore", "EaselImaging",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "WSClient", package: "swift-websocket"),
        .product(name: "HTTPTypes", package: "swift-http-types"),
      ],
      swiftSettings: strict
    ),
    .target(
      name: "EaselRPC",
      dependencies: [
        "EaselCore",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "Tracing", package: "swift-distributed-tracing"),
      ],
      swiftSettings: strict
    ),
    // The operator console (`easeld serve --console`): pages rendered on the server, live through
    // Server-Sent Events, behind a login with operator or admin keys.
    .target(
      name: "EaselConsole",
      dependencies: [
        "EaselCore",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "Mustache", package: "swift-mustache"),
        .product(name: "HTTPTypes", package: "swift-http-types"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      swiftSettings: strict
    ),
    // Wires store, backends, imaging, workers and both gRPC listeners into one ServiceGroup.
    .target(
      name: "EaselServer",
      dependencies: [
        "EaselCore", "EaselRPC", "EaselSQLite", "EaselPostgres", "EaselModels", "EaselImaging", "EaselArtifacts", "EaselTemplates",
        "EaselConsole",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "Tracing", package: "swift-distributed-tracing"),
        .product(name: "OTel", package: "swift-otel"),
      ],
      swiftSettings: strict
    ),
    .executableTarget(
      name: "easeld",
      dependencies: [
        "EaselServer", "EaselPostgres", "EaselTemplates", "EaselRPC", "EaselModels", "EaselArtifacts",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Yams", package: "Yams"),
      ],
      swiftSettings: strict
    ),
    .executableTarget(
      name: "easel",
      dependencies: [
        "EaselRPC",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      path: "clients/easel",
      swiftSettings: strict
    ),

    // Benchmarks/run builds this in release mode; see the README's Performance section.
    .executableTarget(
      name: "easel-bench",
      dependencies: [
        "EaselRPC", "EaselCore", "EaselSQLite", "EaselImaging", "EaselServer", "EaselPostgres",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
      ],
      path: "Benchmarks/EaselBench",
      swiftSettings: strict
    ),

    // Tests mirror the targets; EaselServerTests drive whole servers and processes.
    .testTarget(name: "EaselCoreTests", dependencies: ["EaselCore"]),
    .testTarget(name: "EaselTemplatesTests", dependencies: ["EaselTemplates", "EaselCore"]),
    .testTarget(name: "EaselImagingTests", dependencies: ["EaselImaging", "EaselCore"]),
    .testTarget(
      name: "EaselSQLiteTests", dependencies: ["EaselSQLite", "EaselCore", .product(name: "GRDB", package: "GRDB.swift")]),
    .testTarget(name: "EaselPostgresTests", dependencies: ["EaselPostgres", "EaselCore"]),
    .testTarget(name: "EaselArtifactsTests", dependencies: ["EaselArtifacts", "EaselCore"]),
    .testTarget(name: "EaselModelsTests", dependencies: ["EaselModels", "EaselImaging", "EaselCore"]),
    .testTarget(name: "EaselRPCTests", dependencies: ["EaselRPC", "EaselCore"]),
    .testTarget(
      name: "EaselServerTests",
      dependencies: [
        "EaselServer", "EaselRPC", "EaselSQLite", "EaselPostgres", "EaselCore", "EaselImaging", "EaselModels",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
      ]
    ),
  ]
)
