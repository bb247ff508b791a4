import ConfigModel
import Curl
import Foundation
import History
import Logging
import ObshellAgent
import ObshellModel
import Pipeline
import Support
import Synchronization
import Tracker

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What wakes the view up.
enum WatchSignal: Sendable {
    /// A target was polled; `events` are the events that poll made, in order.
    case polled(target: Int, events: [Event])
    /// A second went by: the clocks on screen move.
    case tick
    /// The terminal changed size.
    case resized
    /// Ctrl-C (or SIGTERM): restore the terminal and stop.
    case interrupted
}

/// Everything on screen: the targets' latest snapshots and the latest events. Poll loops write it, the view reads it.
final class WatchBoard: Sendable {
    private struct Contents {
        var targets: [WatchTargetSnapshot]
        var events: [Event]
    }

    private let contents: Mutex<Contents>
    /// How many events are kept (the screen shows what fits).
    let eventLimit: Int

    /// A board with every target waiting for its first poll.
    /// - Parameters:
    ///   - targets: The targets' names and shown addresses, in configuration order.
    ///   - eventLimit: How many of the latest events are kept.
    init(targets: [(name: String, url: String?)], eventLimit: Int = 200) {
        self.contents = Mutex(
            Contents(targets: targets.map { WatchTargetSnapshot(name: $0.name, url: $0.url) }, events: [])
        )
        self.eventLimit = max(1, eventLimit)
    }

    /// Records one poll of target `index`.
    func update(target index: Int, state: TrackerState, lastPoll: Date, agentClock: AgentClockReading?, events: [Event])
    {
        self.contents.withLock { contents in
            guard contents.targets.indices.contains(index) else { return }
            contents.targets[index].state = state
            contents.targets[index].lastPoll = lastPoll
            if let agentClock { contents.targets[index].agentClock = agentClock }
            contents.targets[index].noteFailures(events)
            contents.events += events
            if contents.events.count > self.eventLimit {
                contents.events.removeFirst(contents.events.count - self.eventLimit)
            }
        }
    }

    /// The targets and the latest events (oldest first), as they are now.
    func snapshot() -> (targets: [WatchTargetSnapshot], events: [Event]) {
        self.contents.withLock { ($0.targets, $0.events) }
    }
}

/// Keeps the agent's clock from each answer that carries one.
final class AgentClockBox: Sendable {
    private let reading = Mutex<AgentClockReading?>(nil)

    /// The last reading, if an answer carried a timestamp.
    var latest: AgentClockReading? { self.reading.withLock { $0 } }

    /// Stores a reading.
    func set(_ reading: AgentClockReading) { self.reading.withLock { $0 = reading } }
}

/// A transport that passes every request on and reads the agent's clock (the envelope's `timestamp`) from each
/// answer, so the view can measure elapsed times on the agent's clock without a second request.
struct AgentClockTransport: AgentTransport {
    /// Only the field the view needs; the client decodes the rest.
    private struct Stamp: Decodable {
        var timestamp: ObshellTime?
    }

    /// The transport that does the work.
    let inner: any AgentTransport
    /// Where the readings go.
    let clock: AgentClockBox
    /// The local clock.
    let now: @Sendable () -> Date

    /// Sends the request through ``inner`` and notes the agent's clock from a JSON answer.
    func send(_ request: AgentRequest) async throws(ObshellError) -> AgentResponse {
        let response = try await self.inner.send(request)
        if let stamp = try? JSONDecoder().decode(Stamp.self, from: response.body), let time = stamp.timestamp {
            self.clock.set(AgentClockReading(agentTime: time, localTime: self.now()))
        }
        return response
    }
}

/// Collects what a poller hands its sink, for the view to take after each poll.
final class WatchEventCollector: Sendable {
    private let events = Mutex<[Event]>([])

    /// Adds a batch's events.
    func append(_ batch: EventBatch) { self.events.withLock { $0 += batch.events } }

    /// Takes every event collected so far.
    func drain() -> [Event] {
        self.events.withLock { events in
            defer { events = [] }
            return events
        }
    }
}

/// One run of `obwatch watch`: a poll loop per target, and the view that draws what they saw.
///
/// On a terminal the whole view is redrawn in place on every poll and every second; otherwise each new event is
/// printed as a plain line, followed by one status line per poll, with no escape codes.
struct WatchSession: Sendable {
    /// How the output is made.
    enum Mode: Sendable {
        /// Redrawn in place with ANSI sequences.
        case terminal
        /// Plain lines, for a pipe or a file.
        case plain
    }

    /// The targets to poll.
    var targets: [ObwatchConfig.Target]
    /// The tracker settings (`down_after`, stall thresholds).
    var settings: TrackerSettings
    /// The time between two polls of a target.
    var interval: Duration
    /// Where the trackers keep their state: a folder of this session's own, never the daemon's `state_dir`.
    var stateDirectory: URL
    /// Usual durations (the daemon's history, read once): running DAGs then show their ETA band and their stage's
    /// usual time; `nil` shows neither.
    var history: DurationHistory?
    /// Terminal or plain lines.
    var mode: Mode
    /// The renderer.
    var screen = WatchScreen()
    /// Writes to the output.
    var write: @Sendable (String) -> Void = { WatchTerminal.write($0) }
    /// The terminal's size.
    var size: @Sendable () -> (width: Int, height: Int) = { WatchTerminal.size() }
    /// The time source: the local time shown and stamped, the wait between polls, the terminal's redraw.
    var clock: any ObwatchClock

    /// Polls and draws until SIGINT or SIGTERM, then puts the terminal back as it was.
    func run() async {
        let (stream, continuation) = AsyncStream.makeStream(of: WatchSignal.self)
        let sources = Self.installSignalHandlers(continuation, mode: self.mode)
        let board = WatchBoard(targets: self.targets.map { ($0.name, $0.identity.url) })
        var tasks: [Task<Void, Never>] = []
        for (index, target) in self.targets.enumerated() {
            let loop = self.pollLoop(index: index, target: target, board: board, signals: continuation)
            tasks.append(Task { await loop() })
        }
        if self.mode == .terminal {
            tasks.append(
                Task {
                    while !Task.isCancelled {
                        do { try await self.clock.sleep(for: .seconds(1)) } catch { return }
                        continuation.yield(.tick)
                    }
                }
            )
            self.write(ANSI.hideCursor)
            self.draw(board)
        }

        for await signal in stream {
            if case .interrupted = signal { break }
            switch self.mode {
            case .terminal:
                self.draw(board)
            case .plain:
                if case .polled(let index, let events) = signal {
                    self.printPlain(board, target: index, events: events)
                }
            }
        }

        // The polls in flight are abandoned, not awaited: an unreachable agent must not hold Ctrl-C for a timeout.
        for task in tasks { task.cancel() }
        for source in sources { source.cancel() }
        continuation.finish()
        if self.mode == .terminal { self.write(ANSI.showCursor + "\r\n") }
    }

    /// Draws one frame of the whole view.
    private func draw(_ board: WatchBoard) {
        let (targets, events) = board.snapshot()
        let size = self.size()
        let lines = self.screen.lines(
            targets: targets,
            events: events,
            now: self.clock.wallNow,
            width: size.width,
            height: size.height
        )
        self.write(ANSI.frame(lines))
    }

    /// Prints a poll's new events and the target's status line, for a pipe.
    private func printPlain(_ board: WatchBoard, target index: Int, events: [Event]) {
        let targets = board.snapshot().targets
        guard targets.indices.contains(index) else { return }
        var text = ""
        for event in events { text += self.screen.plainEventLine(event) + "\n" }
        text += self.screen.statusLine(targets[index], now: self.clock.wallNow) + "\n"
        self.write(text)
    }

    /// The loop of one target: poll at once, then every interval; each poll updates the board and wakes the view.
    private func pollLoop(
        index: Int,
        target: ObwatchConfig.Target,
        board: WatchBoard,
        signals: AsyncStream<WatchSignal>.Continuation
    ) -> @Sendable () async -> Void {
        let collector = WatchEventCollector()
        let agentClock = AgentClockBox()
        let clock = self.clock
        let now: @Sendable () -> Date = { clock.wallNow }
        let settings = self.settings
        let storage = LocalStateFolder(directory: self.stateDirectory, clock: clock)
        let transport = AgentClockTransport(
            inner: CurlAgentTransport(
                baseURL: target.url,
                timeout: target.timeout,
                tls: TLSOptions(caFile: target.caFile)
            ),
            clock: agentClock,
            now: now
        )
        let interval = self.interval
        let history = self.history.map { HistoryBook(history: $0) }
        return {
            // The state folder's loads never fail (an unreadable file is set aside), so `nil` cannot happen.
            guard
                let poller = try? await TargetPoller(
                    target: target,
                    settings: settings,
                    storage: storage,
                    transport: transport,
                    clock: clock,
                    // The screen shows poll failures in the target's header; log lines would tear the frame apart.
                    logger: Logger(label: "obwatch.watch", factory: { _ in SwiftLogNoOpLogHandler() }),
                    history: history,
                    sink: { collector.append($0) }
                )
            else { return }
            while !Task.isCancelled {
                await poller.pollOnce()
                let events = collector.drain()
                board.update(
                    target: index,
                    state: await poller.journal.state,
                    lastPoll: now(),
                    agentClock: agentClock.latest,
                    events: events
                )
                signals.yield(.polled(target: index, events: events))
                do { try await clock.sleep(for: interval) } catch { return }
            }
        }
    }

    /// Turns SIGINT and SIGTERM into ``WatchSignal/interrupted`` and SIGWINCH into ``WatchSignal/resized``.
    ///
    /// The signals are ignored first so that only the dispatch sources see them; the sources live until
    /// ``run()`` cancels them.
    private static func installSignalHandlers(
        _ continuation: AsyncStream<WatchSignal>.Continuation,
        mode: Mode
    ) -> [any DispatchSourceSignal] {
        var handled: [(Int32, WatchSignal)] = [(SIGINT, .interrupted), (SIGTERM, .interrupted)]
        if mode == .terminal { handled.append((SIGWINCH, .resized)) }
        return handled.map { number, meaning in
            _ = signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(meaning) }
            source.resume()
            return source
        }
    }
}
