// swift-tools-version:6.1
import PackageDescription

let strictConcurrency: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "carepath",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "carepath", targets: ["carepath"]),
        .library(name: "Pathway", targets: ["Pathway"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"4.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.25.0"),
        // Without swift-configuration: carepath reads its own settings (RuntimeConfiguration).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0", traits: ["FullFoundation"]),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        // The PostgreSQL store's client (connection pool, TLS, prepared statements).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // A small, allocation-conscious JSON reader and a deterministic writer.
        .target(name: "CarepathJSON", swiftSettings: strictConcurrency),
        // The pure pathway domain: no I/O, no clock, no Kafka.
        .target(
            name: "Pathway",
            dependencies: [
                "CarepathJSON",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictConcurrency
        ),
        // Debian's librdkafka-dev (2.0.2). Only the Kafka-layer modules (Kafka,
        // KafkaBenchmarkSupport) import the C targets.
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        .target(name: "CKafkaShim", dependencies: ["CRdKafka"]),
        // Kafka through librdkafka: consumer, producer, embedded cluster. No clinical knowledge.
        .target(
            name: "Kafka",
            dependencies: ["CRdKafka", "CKafkaShim", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictConcurrency
        ),
        // Benchmark-only, linked by carepath-bench alone: the raw librdkafka C
        // loops (CKafkaBenchmarkShim) and the Swift baseline that drives them.
        .target(name: "CKafkaBenchmarkShim", dependencies: ["CRdKafka"]),
        .target(
            name: "KafkaBenchmarkSupport",
            dependencies: ["Kafka", "CRdKafka", "CKafkaBenchmarkShim", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictConcurrency
        ),
        .executableTarget(
            name: "carepath",
            dependencies: [
                "Pathway", "CarepathJSON", "CarepathRuntime", "CarepathStore", "Kafka", "CarepathSimulation", "CarepathOperations",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictConcurrency
        ),
        // Debian's libsqlite3-dev: only the store imports it.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // Durable per-patient streams, processed inputs, offsets, outbox and timers.
        // SQLite (embedded) or PostgreSQL (shared, on postgres-nio).
        .target(
            name: "CarepathStore",
            dependencies: [
                "CSQLite", "Pathway", "CarepathJSON",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictConcurrency
        ),
        // carepath on Kafka: batches, the outbox relay, the timer scheduler, metrics,
        // and /metrics and /health/* on Hummingbird. PartitionOwnership.pml is the spin
        // model of the ownership protocol (Tests/model/check.sh), not a source.
        .target(
            name: "CarepathRuntime",
            dependencies: [
                "CarepathStore", "Kafka", "Pathway", "CarepathJSON",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            exclude: ["PartitionOwnership.pml"],
            swiftSettings: strictConcurrency
        ),
        // Operators' tools: replay into a fresh store, what-if, inspect, republish.
        .target(
            name: "CarepathOperations",
            dependencies: ["CarepathRuntime", "CarepathStore", "Kafka", "Pathway", "CarepathJSON", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictConcurrency
        ),
        .target(name: "CarepathSimulation", dependencies: ["Pathway", "CarepathJSON"], swiftSettings: strictConcurrency),
        .executableTarget(
            name: "carepath-bench",
            dependencies: ["Pathway", "CarepathJSON", "CarepathSimulation", "Kafka", "KafkaBenchmarkSupport", "CarepathRuntime", "CarepathStore",
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictConcurrency
        ),
        .testTarget(name: "KafkaTests", dependencies: ["Kafka", .product(name: "Logging", package: "swift-log")], swiftSettings: strictConcurrency),
        .testTarget(name: "CarepathStoreTests", dependencies: ["CarepathStore", "Pathway", "CarepathSimulation"], swiftSettings: strictConcurrency),
        .testTarget(
            name: "RuntimeTests",
            dependencies: ["CarepathRuntime", "CarepathOperations", "CarepathStore", "Kafka", "Pathway", "CarepathJSON", "CarepathSimulation",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                           .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle")],
            swiftSettings: strictConcurrency
        ),
        .testTarget(name: "CarepathJSONTests", dependencies: ["CarepathJSON"], swiftSettings: strictConcurrency),
        .testTarget(name: "PathwayTests", dependencies: ["Pathway", "CarepathJSON", "CarepathSimulation"], swiftSettings: strictConcurrency),
    ],
    swiftLanguageModes: [.v6]
)
