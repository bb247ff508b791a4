import Foundation
import ObshellModel
import Testing
import Tracker

/// Seed answers: the recorded scale-out answer, and a generated large one.
enum AnswerSeeds {
    static let fixtureURL = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ObshellTests/Fixtures/unfinish-scale-out.json")

    static func fixture() throws -> FuzzJSON {
        let data = try Data(contentsOf: Self.fixtureURL)
        return try #require(FuzzJSON.parse(data), "the seed answer is not JSON")
    }

    /// `successful: true` with `dags` DAGs of `nodes` nodes each, one sub-task per node with a few log lines.
    static func large(dags: Int = 50, nodes: Int = 30) -> FuzzJSON {
        let time = FuzzJSON.string("2024-01-10T11:34:22.556477+08:00")
        let contents: [FuzzJSON] = (1...dags).map { dag in
            let stage = 1 + dag % nodes
            let nodeList: [FuzzJSON] = (1...nodes).map { node in
                let state = node < stage ? "SUCCEED" : node == stage ? "RUNNING" : "PENDING"
                let id = String(dag * 1_000 + node)
                let subTask = FuzzJSON.object([
                    ("id", .string(id)), ("task_id", .number(id)), ("name", .string("sub-task \(node)")),
                    ("state", .string(state)), ("operator", .string("RUN")), ("start_time", time),
                    ("end_time", time), ("additional_data", .null), ("execute_times", .number("1")),
                    ("execute_agent", .object([("ip", .string("10.10.10.\(dag % 250)")), ("port", .number("2886"))])),
                    ("task_logs", .array((0..<(node == stage ? 3 : 0)).map { .string("log line \($0) of \(id)") })),
                ])
                return .object([
                    ("id", .string(id)), ("node_id", .number(id)), ("name", .string("node \(node)")),
                    ("state", .string(state)), ("operator", .string("RUN")), ("start_time", time),
                    ("end_time", time), ("additional_data", .null), ("sub_tasks", .array([subTask])),
                ])
            }
            return .object([
                ("id", .string(String(dag))), ("dag_id", .number(String(dag))), ("name", .string("DAG \(dag)")),
                ("stage", .number(String(stage))), ("max_stage", .number(String(nodes))),
                ("state", .string("RUNNING")), ("operator", .string("RUN")), ("start_time", time),
                ("end_time", time), ("additional_data", .object([])), ("nodes", .array(nodeList)),
            ])
        }
        return .object([
            ("successful", .bool(true)), ("timestamp", .string("2024-01-10T11:34:32.520371417+08:00")),
            ("duration", .number("43")), ("status", .number("200")), ("traceId", .string("925c315c8fcf142d")),
            ("data", .object([("contents", .array(contents))])),
        ])
    }
}

@Suite("Fuzzed agent answers: no crash, a failed poll is not a finished DAG")
struct AgentAnswerFuzzTests {
    static let target = TargetIdentity(name: "fuzz", url: "http://10.0.0.5:2886", labels: [:])
    static let start = ObshellTime("2024-01-10T11:34:32.520371417+08:00") ?? ObshellTime(seconds: 0, nanoseconds: 0)
    static let pollRequest = "GET /api/v1/task/dag/unfinish?show_details=true"

    @Test("the seed answers decode and track cleanly (the oracle's baseline)")
    func seedsAreGood() throws {
        for seed in [try AnswerSeeds.fixture(), AnswerSeeds.large()] {
            let envelope = try ObshellDecoder.envelope(ContentList<Dag>.self, from: seed.data)
            #expect(envelope.successful)
            #expect((envelope.data?.contents ?? []).isEmpty == false)
        }
        #expect(
            try ObshellDecoder.envelope(ContentList<Dag>.self, from: AnswerSeeds.large().data).data?.contents.count
                == 50
        )
    }

    @Test(
        "mutated answers: decode or fail with a path, track without false finals, replay from a capture",
        arguments: [
            (seed: UInt64(0x0B5E_11), cases: 1_200, large: false),
            (seed: UInt64(0xDA6_2026), cases: 800, large: false),
            (seed: UInt64(0x1A26E), cases: 12, large: true),
        ]
    )
    func mutatedAnswers(seed: UInt64, cases: Int, large: Bool) throws {
        let original = large ? AnswerSeeds.large() : try AnswerSeeds.fixture()
        let good = try ObshellDecoder.envelope(ContentList<Dag>.self, from: original.data).data?.contents ?? []
        let paths = original.allPaths
        var random = SplitMix64(seed: seed)
        var decoded = 0
        for number in 0..<cases {
            let mutation = Mutator.mutate(original, paths: paths, &random)
            let label = "seed \(String(seed, radix: 16)) case \(number) (\(mutation.description))"
            let outcome = Self.decode(mutation.data, label: label)
            if case .list = outcome { decoded += 1 }
            Self.track(good: good, mutated: outcome, label: label)
            Self.capture(mutation.data, expected: outcome, asString: large || number % 4 == 0, label: label)
        }
        // The mutator is not so blunt that nothing decodes, nor so gentle that everything does.
        #expect(decoded > cases / 20 && decoded < cases - cases / 20, "seed \(seed): \(decoded) of \(cases) decoded")
    }

    /// What the poller makes of an answer: a list, or a failed poll with the decoder's reason.
    static func decode(_ data: Data, label: String) -> Observation {
        let at = Self.start.adding(.seconds(5))
        do {
            let envelope = try ObshellDecoder.envelope(ContentList<Dag>.self, from: data)
            guard envelope.successful else { return .failedPoll(reason: "successful is false", kind: .agent, at: at) }
            return .list(envelope.data?.contents ?? [], at: at)
        } catch {
            #expect(error.code == .undecodable, "\(label): \(error)")
            let named =
                error.message.hasPrefix("at ") && error.path != nil || error.message.hasPrefix("the body is not JSON")
                || error.message.hasPrefix("the body is not an envelope")
            #expect(named, "\(label): the error names no path: \(error.message)")
            return .failedPoll(reason: error.description, kind: .decode, at: at)
        }
    }

    /// Good list, then the mutated answer, then the good list again.
    static func track(good: [Dag], mutated: Observation, label: String) {
        let settings = TrackerSettings()
        var state = TrackerState()
        let first = Tracker.step(state, .list(good, at: Self.start), settings: settings, target: Self.target)
        state = first.state
        let second = Tracker.step(state, mutated, settings: settings, target: Self.target)
        state = second.state
        let third = Tracker.step(
            state,
            .list(good, at: Self.start.adding(.seconds(10))),
            settings: settings,
            target: Self.target
        )
        let knownIDs = Set(good.map(\.id))
        #expect(!(second.events + third.events).contains { $0.type == .vanished }, "\(label): vanished")
        switch mutated {
        case .failedPoll:
            // A failed poll is not an observation: nothing about any DAG, and one failure is not target_down.
            #expect(second.events.isEmpty, "\(label): a failed poll made \(second.events.map(\.type))")
            #expect(third.events.isEmpty, "\(label): the same list again made \(third.events.map(\.type))")
            #expect(second.confirmations.isEmpty && third.confirmations.isEmpty, "\(label)")
        case .list(let dags, _):
            // A final event needs the answer itself to say the DAG ended.
            let endedIDs = Set(dags.filter { $0.state == .failed || $0.state == .succeed }.map(\.id))
            // A DAG missing from a partial list is asked about, not declared gone.
            let missing = knownIDs.subtracting(dags.map(\.id))
            #expect(missing.isSubset(of: Set(second.confirmations)), "\(label): \(missing) left unconfirmed")
            for event in second.events where event.type.isFinal {
                #expect(endedIDs.contains(event.dag?.id ?? ""), "\(label): \(event.type) for \(event.dag?.id ?? "")")
            }
            for event in third.events {
                #expect(!event.type.isFinal, "\(label): the good list made \(event.type)")
                if event.type == .started {
                    #expect(!knownIDs.contains(event.dag?.id ?? ""), "\(label): a second started")
                }
            }
        case .confirmation:
            break
        }
    }

    /// The same answer as a capture line, embedded as JSON (and as a string when it is not JSON): the reader never
    /// crashes and agrees with the decoder.
    static func capture(_ data: Data, expected: Observation, asString: Bool, label: String) {
        var line = Data("{\"at\":\"2024-01-10T11:34:37.5+08:00\",\"target\":\"fuzz\",\"request\":\"".utf8)
        line += Data(Self.pollRequest.utf8) + Data("\",\"status\":200,\"body\":".utf8) + data + Data("}\n".utf8)
        let reading = CaptureReader.read(line, file: "fuzz.jsonl")
        for diagnostic in reading.diagnostics {
            #expect(diagnostic.code == .badCaptureLine && diagnostic.line != nil, "\(label): \(diagnostic)")
        }
        // The decoder already said whether the body is JSON at all.
        let notJSON: Bool
        if case .failedPoll(let reason, _, _) = expected {
            notJSON = reason.contains("the body is not JSON")
        } else {
            notJSON = false
        }
        if !notJSON, !data.contains(UInt8(ascii: "\n")), reading.diagnostics.isEmpty, let entry = reading.entries.first
        {
            #expect(reading.entries.count == 1, "\(label)")
            switch (entry.observation, expected) {
            case (.list(let read, _), .list(let direct, _)):
                #expect(read == direct, "\(label): the capture reads another list")
            case (.failedPoll, .failedPoll):
                break
            default:
                #expect(Bool(false), "\(label): the capture reads \(entry.observation), the decoder \(expected)")
            }
        }
        var replayer = Replayer()
        _ = replayer.replay(reading.entries)
        guard asString else { return }

        // The body as a string, as `run --record` writes an answer that is not JSON: always a failed poll.
        let text = String(decoding: data, as: UTF8.self)
        guard let quoted = try? JSONEncoder().encode(text) else { return }
        var stringLine = Data("{\"at\":\"2024-01-10T11:34:37.5+08:00\",\"target\":\"fuzz\",\"request\":\"".utf8)
        stringLine += Data(Self.pollRequest.utf8) + Data("\",\"status\":200,\"body\":".utf8) + quoted + Data("}".utf8)
        let stringReading = CaptureReader.read(stringLine, file: "fuzz.jsonl")
        #expect(stringReading.diagnostics.isEmpty && stringReading.entries.count == 1, "\(label): string body")
        if let entry = stringReading.entries.first, case .list = entry.observation {
            #expect(Bool(false), "\(label): a string body read as a list")
        }
    }
}
