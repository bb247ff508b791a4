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
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // C system libraries: module maps and typed `static inline` shims only.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),

        // Leaf utilities every other module may use: the time source, atomic and state files, the one JSON writer,
        // redaction, host classification and calendar arithmetic.
        .target(name: "Support"),

        // Swift wrappers: the only modules that see C types.
        .target(name: "Curl", dependencies: ["CCurl", "Support"]),
        .target(name: "YAML", dependencies: ["CYAML", "Support"]),
        // RSA keys and HMAC-SHA256: the only module that sees OpenSSL.
        .target(name: "Cryptography", dependencies: ["COpenSSL"]),

        // obshell's answers as values: the models, ObshellTime, the JSON reader, how an answer reads. No C, no I/O.
        .target(name: "ObshellModel", dependencies: ["Support"]),
        // The obshell agent's HTTP client: the encrypted auth header, requests over libcurl.
        .target(
            name: "ObshellAgent",
            dependencies: [
                "Curl", "Cryptography", "ObshellModel", "Support", .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Duration history: name templates, per-node statistics, ETAs and slowness thresholds. Pure values plus the
        // small store protocol and its state-folder file.
        .target(name: "History", dependencies: ["ObshellModel", "Support"]),

        // The DAG state machine, the event catalogue, captures and persisted state.
        .target(name: "Tracker", dependencies: ["History", "ObshellModel", "Support"]),

        // The configuration as values: targets, receivers, rules, silences, matchers, the notification a receiver is
        // sent. No YAML: positions are `SourcePosition`s.
        .target(name: "ConfigModel", dependencies: ["Tracker", "History", "ObshellModel", "Support"]),
        // Message templates: Mustache rendering, escaping per format, the default texts, a receiver's templates.
        .target(
            name: "Messages",
            dependencies: [
                "ConfigModel", "Tracker", "ObshellModel", "Support",
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        // Reading and checking the configuration: YAML decoding, `${VAR}` interpolation, includes, `obwatch check`.
        .target(
            name: "ConfigLoading",
            dependencies: ["YAML", "ConfigModel", "Messages", "Tracker", "History", "ObshellModel", "Support"]
        ),
        // The pure router: rule matching, silences, inhibition, grouping, repeat, deduplication.
        .target(name: "Routing", dependencies: ["ConfigModel", "Tracker", "History", "ObshellModel"]),

        // The durable outbox, retries and rate limits, the webhook formats, email and syslog.
        .target(
            name: "Delivery",
            dependencies: [
                "Curl", "Cryptography", "ConfigModel", "Messages", "Tracker", "ObshellModel", "Support",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // The pipeline between the agents and the outbox: the poll cycle, each target's journal, the observe step,
        // the routing stage and the ticker as services, and the storage they persist through.
        .target(
            name: "Pipeline",
            dependencies: [
                "Tracker", "History", "ConfigModel", "Routing", "Delivery", "ObshellAgent", "ObshellModel", "Curl",
                "Support",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // The pipeline's storage in PostgreSQL: the schema and its migrations, target records and the router's memory
        // written under a fencing epoch. The only module that sees PostgresNIO.
        .target(
            name: "PostgresStore",
            dependencies: [
                "Pipeline", "Tracker", "History", "Routing", "ConfigModel", "Support", "Delivery",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // obshell's task API served from scenario files, for tests, the demo and `obwatch simulate`.
        .target(
            name: "Simulator",
            dependencies: [
                "Cryptography", "ObshellModel", "YAML", "Support",
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
                "Curl", "YAML", "ObshellAgent", "ObshellModel", "Simulator", "Tracker", "History", "ConfigModel",
                "ConfigLoading",
                "Routing", "Messages", "Delivery", "Pipeline", "PostgresStore", "Support",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                // The status API over HTTPS (`http.tls`); swift-nio-ssl is already in the graph.
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
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
                "Tracker", "ObshellAgent", "ObshellModel", "ConfigModel", "ConfigLoading", "Messages", "Routing",
                "Delivery", "Pipeline", "Support",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/ObwatchBench"
        ),

        // Starting and reading the Python peers the integration tests talk to; shared by the test targets.
        .target(name: "PeerSupport", path: "Tests/PeerSupport"),
        // Test doubles every test target shares: clocks, recorders, scripted senders, bounded waits.
        .target(
            name: "ObwatchTestKit",
            dependencies: ["Support", "Delivery", "ConfigModel", "Tracker", "ObshellModel"],
            path: "Tests/ObwatchTestKit"
        ),

        .testTarget(name: "SupportTests", dependencies: ["Support"]),
        .testTarget(name: "CurlTests", dependencies: ["Curl", "PeerSupport"], resources: [.copy("Peers")]),
        .testTarget(name: "YAMLTests", dependencies: ["YAML", "Support"]),
        .testTarget(
            name: "ObshellTests",
            dependencies: ["ObshellModel", "ObshellAgent", "Cryptography", "Curl"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "TrackerTests", dependencies: ["Tracker", "History", "ObshellModel"]),
        .testTarget(name: "HistoryTests", dependencies: ["History", "ObshellModel", "ObwatchTestKit"]),
        .testTarget(
            name: "RulesTests",
            dependencies: ["ConfigModel", "ConfigLoading", "Routing", "Messages", "Tracker", "ObshellModel", "YAML"]
        ),
        .testTarget(
            name: "DeliveryTests",
            dependencies: [
                "Delivery", "ConfigModel", "ConfigLoading", "Messages", "Tracker", "ObshellModel", "Curl",
                "PeerSupport", "Support", "ObwatchTestKit",
            ],
            resources: [.copy("Peers"), .copy("MailPeers")]
        ),
        .testTarget(
            name: "SimulatorTests",
            dependencies: ["Simulator", "ObshellModel", "ObshellAgent", "Cryptography", "Curl"],
            resources: [.copy("Peers")]
        ),
        .testTarget(
            name: "PipelineTests",
            dependencies: [
                "Pipeline", "Tracker", "ConfigModel", "ConfigLoading", "Routing", "Delivery", "ObshellAgent",
                "ObshellModel", "Support", "YAML", "ObwatchTestKit", "PostgresStore", "PeerSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Against a real PostgreSQL server (Tests/PeerSupport/PostgresServer.swift): migrations, fencing, outages.
        .testTarget(
            name: "PostgresStoreTests",
            dependencies: [
                "PostgresStore", "Pipeline", "Tracker", "History", "Routing", "ConfigModel", "ObshellModel", "Support",
                "PeerSupport", "ObwatchTestKit", "Delivery", "Messages", "ConfigLoading",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        // `make reliability`: hostile text through every format, fuzzed answers and configs, long outages.
        .testTarget(
            name: "ReliabilityTests",
            dependencies: [
                "ObshellModel", "Tracker", "ConfigModel", "ConfigLoading", "Messages", "Delivery", "YAML",
                "ObwatchTestKit",
            ]
        ),
        // `make reliability`: the built binary killed with SIGKILL at random points, and against a faulty agent.
        .testTarget(name: "ChaosTests", dependencies: ["PeerSupport"], resources: [.copy("Scenarios")]),
        .testTarget(
            name: "ObwatchAppTests",
            dependencies: [
                "ObwatchApp", "Simulator", "ObshellModel", "ObshellAgent", "Tracker", "ConfigModel", "ConfigLoading",
                "Routing", "Messages", "YAML", "Delivery", "Curl", "PeerSupport", "Pipeline", "Support", "History",
                "PostgresStore", "ObwatchTestKit",
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
