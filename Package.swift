// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "obwatch",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "obwatch", targets: ["obwatch"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // C system libraries: module maps and typed `static inline` shims only.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),

        // Leaf utilities every other module may use: the time source, and (by issue 17) atomic files, the JSON
        // writer, redaction and host classification.
        .target(name: "Support"),

        // Swift wrappers: the only modules that see C types.
        .target(name: "Curl", dependencies: ["CCurl"]),
        .target(name: "YAML", dependencies: ["CYAML"]),
        .target(
            name: "Obshell",
            dependencies: ["Curl", "COpenSSL", .product(name: "Logging", package: "swift-log")]
        ),

        // The DAG state machine, the event catalogue, captures and persisted state.
        .target(name: "Tracker", dependencies: ["Obshell"]),

        // The config model, rule matching, silences, inhibition, repeat, grouping and message templates.
        .target(
            name: "Rules",
            dependencies: [
                "YAML", "Tracker", "Obshell", "Curl",
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),

        // The durable outbox, retries and rate limits, the webhook formats, email and syslog.
        .target(
            name: "Delivery",
            dependencies: [
                "Curl", "Rules", "Tracker", "Obshell",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // The pipeline between the agents and the outbox: the poll cycle, each target's journal, the observe step,
        // the routing stage and the ticker as services, and the storage they persist through.
        .target(
            name: "Pipeline",
            dependencies: [
                "Tracker", "Rules", "Delivery", "Obshell", "Curl", "Support",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // obshell's task API served from scenario files, for tests, the demo and `obwatch simulate`.
        .target(
            name: "Simulator",
            dependencies: [
                "Obshell", "YAML",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Wiring and the thin command line.
        .target(
            name: "ObwatchApp",
            dependencies: [
                "Curl", "YAML", "Obshell", "Simulator", "Tracker", "Rules", "Delivery", "Pipeline", "Support",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(name: "obwatch", dependencies: ["ObwatchApp"]),

        // The Swift half of `make bench` (decoding, one poll, the outbox, replay); bench/run.py sets each figure
        // against its baseline.
        .executableTarget(
            name: "ObwatchBench",
            dependencies: [
                "Tracker", "Obshell", "Rules", "Delivery", "Pipeline", "Support",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/ObwatchBench"
        ),

        // Starting and reading the Python peers the integration tests talk to; shared by the test targets.
        .target(name: "PeerSupport", path: "Tests/PeerSupport"),
        // Test doubles every test target shares: clocks, recorders, scripted senders.
        .target(name: "ObwatchTestKit", dependencies: ["Support"], path: "Tests/ObwatchTestKit"),

        .testTarget(name: "CurlTests", dependencies: ["Curl", "PeerSupport"], resources: [.copy("Peers")]),
        .testTarget(name: "YAMLTests", dependencies: ["YAML"]),
        .testTarget(name: "ObshellTests", dependencies: ["Obshell"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TrackerTests", dependencies: ["Tracker", "Obshell"]),
        .testTarget(name: "RulesTests", dependencies: ["Rules", "Tracker", "Obshell", "YAML"]),
        .testTarget(
            name: "DeliveryTests",
            dependencies: ["Delivery", "Rules", "Tracker", "Obshell", "YAML", "Curl", "PeerSupport"],
            resources: [.copy("Peers"), .copy("MailPeers")]
        ),
        .testTarget(
            name: "SimulatorTests",
            dependencies: ["Simulator", "Obshell", "Curl"],
            resources: [.copy("Peers")]
        ),
        .testTarget(
            name: "PipelineTests",
            dependencies: [
                "Pipeline", "Tracker", "Rules", "Delivery", "Obshell", "Support", "ObwatchTestKit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // `make reliability`: hostile text through every format, fuzzed answers and configs, long outages.
        .testTarget(name: "ReliabilityTests", dependencies: ["Obshell", "Tracker", "Rules", "Delivery", "YAML"]),
        // `make reliability`: the built binary killed with SIGKILL at random points, and against a faulty agent.
        .testTarget(name: "ChaosTests", dependencies: ["PeerSupport"], resources: [.copy("Scenarios")]),
        .testTarget(
            name: "ObwatchAppTests",
            dependencies: [
                "ObwatchApp", "Simulator", "Obshell", "Tracker", "Rules", "YAML", "Delivery", "Curl", "PeerSupport",
                "Pipeline", "Support", "ObwatchTestKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ]
)

for target in package.targets where target.type != .system {
    target.swiftSettings =
        (target.swiftSettings ?? []) + [
            .enableUpcomingFeature("ExistentialAny"),
            .enableUpcomingFeature("MemberImportVisibility"),
            .enableUpcomingFeature("InternalImportsByDefault"),
            .enableUpcomingFeature("NonisolatedNonsendingByDefault"),
        ]
}
