import ArgumentParser
import Foundation
import Tracker

/// Replays a generated span of polls of one cluster: reading the capture, then the tracker's steps. The baseline is
/// parsing every line with `JSONSerialization` in the same process, so figures from different machines compare.
struct ReplayBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Reads and replays a generated capture; prints polls per second."
    )

    @Option(help: "Days of polls to generate.")
    var days = 30

    @Option(help: "Seconds between polls.")
    var interval = 5

    @Option(help: "DAGs started per day.")
    var dagsPerDay = 4

    @Option(help: "A capture file: read when it exists, else generated and written there (for profiling runs).")
    var captureFile: String?

    @Flag(help: "Skip the JSONSerialization baseline.")
    var skipBaseline = false

    func validate() throws {
        guard (1...3650).contains(self.days) else { throw ValidationError("--days takes 1 to 3650") }
        guard (1...3600).contains(self.interval) else { throw ValidationError("--interval takes 1 to 3600") }
        guard (0...1000).contains(self.dagsPerDay) else { throw ValidationError("--dags-per-day takes 0 to 1000") }
    }

    func run() async throws {
        let capture = try self.capture()

        var reading: CaptureReading?
        let read = await Cost.measure { reading = CaptureReader.read(capture.data, file: "generated.jsonl") }
        guard let reading else { return }
        guard reading.diagnostics.isEmpty else {
            throw ValidationError("the generated capture has bad lines: \(reading.diagnostics.prefix(3))")
        }

        var replayer = Replayer()
        var events: [Event] = []
        let replay = await Cost.measure { events = replayer.replay(reading.entries) }

        var parsed = 0
        let baseline = await Cost.measure {
            guard !self.skipBaseline else { return }
            for line in capture.data.split(separator: UInt8(ascii: "\n")) {
                if (try? JSONSerialization.jsonObject(with: Data(line))) is [String: Any] { parsed += 1 }
            }
        }

        var line = ResultLine(bench: "replay")
        line.add("lines", capture.lines)
        line.add("polls", capture.polls)
        line.add("bytes", capture.data.count)
        line.add("events", events.count)
        line.add("repeated_lists", reading.entries.count { $0.repeatsPreviousList })
        line.add("read_s", read.wallSeconds)
        line.add("replay_s", replay.wallSeconds)
        line.add("baseline_parse_s", baseline.wallSeconds)
        line.add("replay_polls_per_s", Double(capture.polls) / max(replay.wallSeconds, 1e-9))
        line.add("read_replay_polls_per_s", Double(capture.polls) / max(read.wallSeconds + replay.wallSeconds, 1e-9))
        line.add("baseline_lines_per_s", Double(parsed) / max(baseline.wallSeconds, 1e-9))
        // CPU time: on a shared machine the wall clock also counts the time other processes held the core.
        line.add("read_cpu_s", read.cpuSeconds)
        line.add("replay_cpu_s", replay.cpuSeconds)
        line.add("baseline_cpu_s", baseline.cpuSeconds)
        line.add("replay_polls_per_cpu_s", Double(capture.polls) / max(replay.cpuSeconds, 1e-9))
        line.add("read_replay_polls_per_cpu_s", Double(capture.polls) / max(read.cpuSeconds + replay.cpuSeconds, 1e-9))
        line.add("baseline_lines_per_cpu_s", Double(parsed) / max(baseline.cpuSeconds, 1e-9))
        line.print()
    }

    /// The generated capture, or the one in `--capture-file` (written there first when the file does not exist).
    private func capture() throws -> GeneratedCapture {
        let generate = {
            CaptureGenerator(days: self.days, interval: self.interval, dagsPerDay: self.dagsPerDay).generate()
        }
        guard let path = self.captureFile else { return generate() }
        if let data = FileManager.default.contents(atPath: path) {
            let lines = data.count { $0 == UInt8(ascii: "\n") }
            let polls = data.split(separator: UInt8(ascii: "\n")).count { Self.isPoll($0) }
            return GeneratedCapture(data: data, lines: lines, polls: polls, failedPolls: 0, confirmations: 0, dags: 0)
        }
        let capture = generate()
        try capture.data.write(to: URL(fileURLWithPath: path))
        return capture
    }

    private static func isPoll(_ line: Data.SubSequence) -> Bool {
        line.firstRange(of: Array("dag/unfinish".utf8)) != nil
    }
}
