import ConfigModel
import Foundation
import History
import ObshellAgent
import ObshellModel
import ObwatchTestKit
import Pipeline
import Synchronization
import Testing
import Tracker

/// The daemon's shortcut for a poll whose list repeats the last one byte for byte (issue 20, point 2): the client
/// recognises it without decoding, the journal then only moves the tracker's clocks and skips comparing its state
/// with the saved one. Everything must come out as the full step gives it: events, states, and the records saved.
@Suite("unchanged polls through the daemon's path")
struct UnchangedPollTests {
    /// Settings that make the captures cross stall and `slow` thresholds, confirm and vanish quickly.
    static func settingsVariants() throws -> [TrackerSettings] {
        [
            TrackerSettings(),
            TrackerSettings(
                downAfter: 1,
                confirmWithin: .seconds(60),
                stallThresholds: [
                    try #require(StallThreshold("2m")), try #require(StallThreshold("7m")),
                    try #require(StallThreshold("30m")),
                ],
                forgetSucceededAfter: .seconds(300),
                slowThresholds: [.usual, try #require(SlowerThan("2x"))]
            ),
        ]
    }

    /// One capture line as an answer: the request, when it came, and the body with its keys sorted (so that two
    /// lines with the same list give the same `data` bytes, as an agent does).
    struct Answer {
        var target: String
        var path: String
        var at: Date
        var response: AgentResponse
    }

    static func answers(in file: String) throws -> [Answer] {
        let text = try String(contentsOf: capturesFolder.appendingPathComponent(file), encoding: .utf8)
        var answers: [Answer] = []
        for line in text.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let request = object["request"] as? String, let status = object["status"] as? Int,
                let body = object["body"] as? [String: Any], let target = object["target"] as? String,
                let at = (object["at"] as? String).flatMap({ ObshellTime($0) })
            else { continue }
            let path = request.split(separator: " ").last.map(String.init) ?? ""
            guard path.hasPrefix("/api/v1/task/dag/") else { continue }
            let bytes = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
            answers.append(
                Answer(target: target, path: path, at: at.date, response: AgentResponse(status: status, body: bytes))
            )
        }
        return answers
    }

    /// The time exchanges are stamped with, set by the test.
    final class WallTime: Sendable {
        let value = Mutex(Date(timeIntervalSince1970: 0))
    }

    /// One target's client and journal, fed answer by answer.
    final class Feed: Sendable {
        let client: ObshellClient
        let journal: TargetJournal
        let agent = ScenarioAgent()
        let now = WallTime()

        init(target: String, settings: TrackerSettings) {
            let now = self.now
            self.client = ObshellClient(
                baseURL: "unix:///run/obshell-test.sock",
                transport: self.agent,
                exchangeTime: { now.value.withLock { $0 } }
            )
            self.journal = TargetJournal(
                identity: TargetIdentity(name: target),
                settings: settings,
                record: TargetRecord()
            )
        }
    }

    @Test("every bundled capture: the same events, states and saved records with and without the shortcut")
    func bundledCaptures() async throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: capturesFolder.path)
            .filter { $0.hasSuffix(".jsonl") }.sorted()
        var shortcuts = 0
        var clockOnlySettles = 0
        var events = 0
        for file in files {
            let answers = try Self.answers(in: file)
            for settings in try Self.settingsVariants() {
                var fast: [String: Feed] = [:]
                var full: [String: Feed] = [:]
                for answer in answers {
                    let feeds = [
                        fast[answer.target] ?? Feed(target: answer.target, settings: settings),
                        full[answer.target] ?? Feed(target: answer.target, settings: settings),
                    ]
                    fast[answer.target] = feeds[0]
                    full[answer.target] = feeds[1]
                    var steps: [TrackerStep] = []
                    var effects: [TargetJournal.Effects] = []
                    for (index, feed) in feeds.enumerated() {
                        feed.now.value.withLock { $0 = answer.at }
                        feed.agent.list.withLock { $0 = .success(answer.response) }
                        feed.agent.confirmation.withLock { $0 = answer.response }
                        let step: TrackerStep
                        if answer.path.hasPrefix("/api/v1/task/dag/unfinish") {
                            let reading = await feed.client.readUnfinished()
                            let observation = Observation.poll(reading.outcome, at: ObshellTime(date: answer.at))
                            // The shortcut's journal hears the fingerprint; the other takes the full step every time.
                            step = await feed.journal.observe(
                                observation,
                                agentTime: reading.outcome.agentTime,
                                listFingerprint: index == 0 ? reading.listFingerprint : nil
                            )
                        } else {
                            let id =
                                answer.path.dropFirst("/api/v1/task/dag/".count).split(separator: "?").first
                                .map(String.init) ?? ""
                            let reading = await feed.client.readDag(id: id)
                            step = await feed.journal.observe(
                                .confirmation(id: id, reading.outcome, at: ObshellTime(date: answer.at))
                            )
                        }
                        steps.append(step)
                        let made = await feed.journal.made(
                            [EventBatch(events: step.events, at: ObshellTime(date: answer.at))],
                            at: answer.at
                        )
                        if made.save != nil { await feed.journal.saveSucceeded(at: answer.at) }
                        // Handed on at once: the record is saved again without them.
                        if !made.handOn.isEmpty, await feed.journal.handedOn(at: answer.at) != nil {
                            await feed.journal.saveSucceeded(at: answer.at)
                        }
                        effects.append(made)
                    }
                    let place = "\(file) \(answer.path) at \(answer.at)"
                    #expect(steps[0].events == steps[1].events, "\(place): events differ")
                    #expect(steps[0].state == steps[1].state, "\(place): states differ")
                    #expect(steps[0].confirmations == steps[1].confirmations, "\(place): confirmations differ")
                    #expect(effects[0] == effects[1], "\(place): what is saved and handed on differs")
                    if effects[0].save == nil { clockOnlySettles += 1 }
                    events += steps[0].events.count
                }
                for (name, feed) in fast {
                    shortcuts += await feed.journal.unchangedListSteps
                    #expect(await full[name]?.journal.unchangedListSteps == 0)
                }
            }
        }
        // The captures do exercise the shortcut, and events and skipped saves happen along them.
        #expect(shortcuts > 40)
        #expect(clockOnlySettles > 20)
        #expect(events > 20)
    }

    /// An agent whose list answer and confirmation answer the test sets (a confirmation is 404 by default).
    final class ScenarioAgent: AgentTransport {
        let list = Mutex<Result<AgentResponse, ObshellError>>(
            .failure(ObshellError(code: .unreachable, message: "connection refused"))
        )
        let confirmation = Mutex(AgentResponse(status: 404, body: Data()))
        let requests = Mutex<[String]>([])

        func send(_ request: AgentRequest) async throws(ObshellError) -> AgentResponse {
            self.requests.withLock { $0.append(request.pathAndQuery) }
            guard request.pathAndQuery.hasPrefix("/api/v1/task/dag/unfinish") else {
                return self.confirmation.withLock { $0 }
            }
            return try self.list.withLock { $0 }.get()
        }
    }

    /// A list answer with `data` as given, stamped with the agent's time.
    static func listAnswer(data: Data, at: Date, trace: Int) -> Result<AgentResponse, ObshellError> {
        let stamp = ObshellTime(date: at.addingTimeInterval(0.25)).description
        var body = Data(#"{"successful":true,"timestamp":"\#(stamp)","duration":3,"status":200,"#.utf8)
        body += Data(#""traceId":"trace-\#(trace)","data":"#.utf8) + data + Data("}".utf8)
        return .success(AgentResponse(status: 200, body: body))
    }

    /// The `data` of a capture's first and last list answers, as bytes.
    static func stallLists() throws -> (first: Data, last: Data) {
        let text = try String(contentsOf: capturesFolder.appendingPathComponent("stall.jsonl"), encoding: .utf8)
        let lists = try text.split(separator: "\n").compactMap { line -> Data? in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            guard let body = object?["body"] as? [String: Any], let data = body["data"] else { return nil }
            return try JSONSerialization.data(withJSONObject: data, options: [.sortedKeys])
        }
        return (try #require(lists.first), try #require(lists.last))
    }

    @Test("a target poller's unchanged polls give the full step's events and state, stall thresholds crossed")
    func pollerScenario() async throws {
        let settings = try #require(Self.settingsVariants().last)
        let target = ObwatchConfig.Target(
            name: "prod-east",
            url: "unix:///run/obshell-test.sock",
            password: Password(""),
            pollInterval: .seconds(60),
            timeout: .seconds(30),
            labels: [:]
        )
        let clock = ManualClock(wallStart: Date(timeIntervalSince1970: 1_704_857_700))
        let agent = ScenarioAgent()
        let handedOn = Mutex<[Event]>([])
        let poller = try await TargetPoller(
            target: target,
            settings: settings,
            storage: LocalStateFolder(directory: try temporaryFolder("unchanged-polls"), clock: clock),
            transport: agent,
            clock: clock,
            sink: { batch in handedOn.withLock { $0 += batch.events } }
        )
        // The reference: the same answers read by a client of its own, every observation a full step.
        let referenceAgent = ScenarioAgent()
        let referenceClient = ObshellClient(
            baseURL: target.url,
            transport: referenceAgent,
            exchangeTime: { clock.wallNow }
        )
        let reference = TargetJournal(identity: target.identity, settings: settings, record: TargetRecord())
        var referenceEvents: [Event] = []

        let lists = try Self.stallLists()
        let empty = Data(#"{"contents":null}"#.utf8)
        let unreachable = Result<AgentResponse, ObshellError>.failure(
            ObshellError(code: .unreachable, message: "connection refused")
        )
        // The same list for a while (stalls at 2m and 7m), an outage, the list again, progress, then the DAG gone
        // (confirmed, vanished) and an empty list for a while.
        let script: [Data?] =
            Array(repeating: lists.first, count: 9) + [nil, nil] + Array(repeating: lists.first, count: 4)
            + Array(repeating: lists.last, count: 3) + Array(repeating: empty, count: 5)
        for (index, data) in script.enumerated() {
            let answer = data.map { Self.listAnswer(data: $0, at: clock.wallNow, trace: index) } ?? unreachable
            agent.list.withLock { $0 = answer }
            referenceAgent.list.withLock { $0 = answer }
            _ = await poller.pollOnce()

            let reading = await referenceClient.readUnfinished()
            let time = ObshellTime(date: reading.exchanges.last?.at ?? clock.wallNow)
            let step = await reference.observe(.poll(reading.outcome, at: time), agentTime: reading.outcome.agentTime)
            referenceEvents += step.events
            for id in step.confirmations {
                let confirmation = await referenceClient.readDag(id: id)
                let at = ObshellTime(date: confirmation.exchanges.last?.at ?? clock.wallNow)
                referenceEvents += await reference.observe(.confirmation(id: id, confirmation.outcome, at: at)).events
            }
            #expect(await poller.journal.state == reference.state, "poll \(index): states differ")
            clock.advance(by: .seconds(60))
        }
        #expect(handedOn.withLock { $0 } == referenceEvents)
        #expect(agent.requests.withLock { $0 } == referenceAgent.requests.withLock { $0 })
        let types = Set(referenceEvents.map(\.type))
        #expect(types.isSuperset(of: [.started, .stalled, .targetDown, .targetUp, .vanished]))
        #expect(referenceEvents.filter { $0.type == .stalled }.count >= 2)
        // Most polls repeated the list before them.
        #expect(await poller.journal.unchangedListSteps >= 12)
    }
}
