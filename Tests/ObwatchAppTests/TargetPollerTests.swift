import ConfigModel
import Curl
import Foundation
import ObshellModel
import ObwatchTestKit
import Pipeline
import Routing
import Simulator
import Support
import Synchronization
import Testing
import Tracker

import class ObwatchTestKit.EventBox
import func ObwatchTestKit.temporaryFolder

@testable import ObwatchApp

@Suite("obwatch run: polling a target")
struct TargetPollerTests {
    @Test("the schedule: a random phase within the interval, then every interval; a late poll skips missed ticks")
    func schedule() {
        let schedule = PollSchedule(interval: .seconds(10))
        #expect(schedule.firstDelay(unit: 0) == .zero)
        #expect(schedule.firstDelay(unit: 0.5) == .seconds(5))
        #expect(schedule.firstDelay(unit: 7) == .seconds(10))
        #expect(schedule.nextDeadline(afterDeadlineElapsed: .milliseconds(30)) == .seconds(10))
        #expect(schedule.nextDeadline(afterDeadlineElapsed: .seconds(10)) == .seconds(20))
        #expect(schedule.nextDeadline(afterDeadlineElapsed: .seconds(25)) == .seconds(30))
    }

    @Test("a poll runs on the curl engine's thread; saving the record and handing events on never do")
    func pollsRunOnTheEngineThreadAndWaitForDisksElsewhere() async throws {
        let running = try await ManualSimulator(try bundledScenario("scale-out-fails.yaml"))
        defer { running.stop() }
        let folder = try temporaryFolder("obwatch-placement")
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = ObwatchConfig.Target(
            name: "prod-east",
            url: running.url,
            password: Password("root-pw"),
            pollInterval: .seconds(5),
            timeout: .seconds(30),
            labels: [:]
        )
        /// Where each step ran: `true` on the engine's thread.
        final class Placements: Sendable {
            let polls = Mutex<[Bool]>([])
            let saves = Mutex<[Bool]>([])
            let handOns = Mutex<[Bool]>([])
        }
        /// The folder, noting where each save runs.
        struct NotingStorage: PipelineStorage {
            let inner: LocalStateFolder
            let placements: Placements
            func loadTarget(_ name: String) async throws(StorageError) -> StorageLoad<TargetRecord> {
                try await self.inner.loadTarget(name)
            }
            func saveTarget(_ record: TargetRecord, name: String) async throws(StorageError) {
                self.placements.saves.withLock { $0.append(CurlEngine.forAgent(named: "prod-east").isCurrentThread) }
                try await self.inner.saveTarget(record, name: name)
            }
            func loadRouterState() async throws(StorageError) -> StorageLoad<RouterState> {
                try await self.inner.loadRouterState()
            }
            func saveRouterState(_ state: RouterState) async throws(StorageError) {
                try await self.inner.saveRouterState(state)
            }
        }
        let placements = Placements()
        let clock = ImmediateClock(stopAfter: 3)
        let box = EventBox()
        let poller = try await TargetPoller(
            target: target,
            settings: TrackerSettings(),
            storage: NotingStorage(inner: LocalStateFolder(directory: folder, clock: clock), placements: placements),
            clock: clock,
            random: { 0 },
            onPoll: { _, _, _ in
                placements.polls.withLock { $0.append(CurlEngine.forAgent(named: "prod-east").isCurrentThread) }
            },
            sink: { batch in
                placements.handOns.withLock { $0.append(CurlEngine.forAgent(named: "prod-east").isCurrentThread) }
                box.append(batch.events)
            }
        )
        await #expect(throws: CancellationError.self) { try await poller.run() }
        #expect(box.all.contains { $0.type == .started }, "the first poll saw the scenario's DAG")
        #expect(placements.polls.withLock { $0 } == [true, true])
        let saves = placements.saves.withLock { $0 }
        let handOns = placements.handOns.withLock { $0 }
        #expect(!saves.isEmpty && !saves.contains(true), "\(saves)")
        #expect(!handOns.isEmpty && !handOns.contains(true), "\(handOns)")
    }

    @Test("run() sleeps on the injected clock: its phase first, then to each next deadline")
    func runLoop() async throws {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("obwatch-loop-\(UUID().uuidString)")
        let target = ObwatchConfig.Target(
            name: "nowhere",
            url: "http://127.0.0.1:1",
            password: Password("never-shown"),
            pollInterval: .seconds(10),
            timeout: .seconds(30),
            labels: [:]
        )
        let clock = ImmediateClock(stopAfter: 3)
        let box = EventBox()
        let poller = try await TargetPoller(
            target: target,
            settings: TrackerSettings(downAfter: 2),
            storage: LocalStateFolder(directory: folder, clock: clock),
            clock: clock,
            random: { 0.5 },
            sink: { box.append($0.events) }
        )
        await #expect(throws: CancellationError.self) { try await poller.run() }
        #expect(clock.waits == [.seconds(5), .seconds(10), .seconds(10)])
        #expect(box.all.map(\.type) == [.targetDown])
        #expect(!box.all.map { $0.jsonLine() }.joined().contains("never-shown"))
        let saved = StateStore(directory: folder).load(target: "nowhere", timestamp: "t")
        #expect(saved.warning == nil)
        #expect(saved.state == (await poller.journal.state))
    }

    @Test("events that could not be handed on are handed on first at the next poll, or after a restart, same ids")
    func handoff() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "obwatch-handoff-\(UUID().uuidString)"
        )
        let target = ObwatchConfig.Target(
            name: "nowhere",
            url: "http://127.0.0.1:1",
            password: Password(""),
            pollInterval: .seconds(10),
            timeout: .seconds(30),
            labels: [:]
        )
        struct Refused: Error {}
        final class Switch: Sendable {
            let refusing = Mutex(true)
        }
        let gate = Switch()
        let box = EventBox()
        let clock = ManualClock()
        func poller() async throws -> TargetPoller {
            try await TargetPoller(
                target: target,
                settings: TrackerSettings(downAfter: 1),
                storage: LocalStateFolder(directory: folder, clock: clock),
                clock: clock,
                sink: { batch in
                    if gate.refusing.withLock({ $0 }) { throw Refused() }
                    box.append(batch.events)
                }
            )
        }
        // The first poll fails and makes target_down, which the sink refuses: it stays on disk with the state.
        let first = try await poller()
        #expect(await first.pollOnce() == [])
        let staged = try #require(
            StateStore(directory: folder).load(TargetRecord.self, target: "nowhere", timestamp: "t").value
        )
        #expect(staged.pending.flatMap(\.events).map(\.type) == [.targetDown])
        // A restart: the new poller hands it on before it polls; the next failed poll makes nothing new.
        gate.refusing.withLock { $0 = false }
        let second = try await poller()
        _ = await second.pollOnce()
        #expect(box.all.map(\.type) == [.targetDown])
        #expect(box.all.first?.id == staged.pending.first?.events.first?.id)
        let handedOn = StateStore(directory: folder).load(TargetRecord.self, target: "nowhere", timestamp: "t")
        #expect(handedOn.value?.pending == [])
    }

    @Test("scale-out-fails: live events equal the replay of the recording; a restart fires no second started")
    func liveEqualsReplay() async throws {
        let scenario = try bundledScenario("scale-out-fails.yaml")
        let running = try await ManualSimulator(scenario)
        defer { running.stop() }
        let (simulator, url) = (running.simulator, running.url)

        let folder = try temporaryFolder("obwatch-poller")
        let capturePath = folder.appendingPathComponent("capture.jsonl").path
        let recorder = try CaptureRecorder(path: capturePath)
        let target = ObwatchConfig.Target(
            name: "sim",
            url: url,
            password: Password("root-pw"),
            pollInterval: .seconds(5),
            timeout: .seconds(30),
            labels: ["env": "test"]
        )
        let settings = TrackerSettings()
        let clock = ManualClock.scenario()
        let storage = LocalStateFolder(directory: folder.appendingPathComponent("state"), clock: clock)
        let box = EventBox()
        func makePoller() async throws -> TargetPoller {
            try await TargetPoller(
                target: target,
                settings: settings,
                storage: storage,
                recorder: recorder,
                clock: clock,
                sink: { box.append($0.events) }
            )
        }

        var poller = try await makePoller()
        var firstRun: [Event] = []
        var secondRun: [Event] = []
        var elapsed = Duration.zero
        let restartAt = Duration.seconds(30)
        while elapsed <= scenario.lastStepTime + .seconds(20) {
            elapsed = try await simulator.advance(by: .seconds(5))
            clock.advance(toWall: await simulator.state().now.date)
            if elapsed == restartAt + .seconds(5) { poller = try await makePoller() }
            let events = await poller.pollOnce()
            if elapsed <= restartAt { firstRun += events } else { secondRun += events }
        }
        recorder.close()

        let live = box.all
        #expect(live == firstRun + secondRun)
        #expect(firstRun.contains { $0.type == .started })
        #expect(firstRun.contains { $0.type == .failed })
        #expect(!secondRun.contains { $0.type == .started })
        #expect(secondRun.contains { $0.type == .retried })
        #expect(secondRun.contains { $0.type == .succeeded })

        let capture = try Data(contentsOf: URL(fileURLWithPath: capturePath))
        let reading = CaptureReader.read(capture, file: capturePath)
        #expect(reading.diagnostics.isEmpty)
        var replayer = Replayer(defaultSettings: settings, identities: ["sim": target.identity])
        let replayed = replayer.replay(reading.entries)
        #expect(replayed.map { $0.jsonLine() } == live.map { $0.jsonLine() })
    }
}

@Suite("obwatch run --record: the capture file")
struct CaptureRecorderTests {
    @Test("an unfinished last line (a write cut short by kill -9) is dropped when the file is opened again")
    func tornLineDropped() throws {
        let folder = try temporaryFolder("obwatch-capture")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("capture.jsonl")
        let whole = #"{"at": "2024-01-10T11:34:32+08:00", "target": "a", "request": "GET /x", "error": "e"}"# + "\n"
        try Data((whole + #"{"at": "2024-01-10T11:34:37+08:00", "targ"#).utf8).write(to: file)
        let recorder = try CaptureRecorder(path: file.path)
        recorder.close()
        #expect(try String(contentsOf: file, encoding: .utf8) == whole)
        // A file that ends with a whole line is kept as it is.
        let again = try CaptureRecorder(path: file.path)
        again.close()
        #expect(try String(contentsOf: file, encoding: .utf8) == whole)
    }
}
