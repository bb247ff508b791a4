import Foundation
import Tracker

/// Replays a generated month of polls of one cluster and prints how long reading and replaying take, next to a
/// same-process baseline (parsing every line with `JSONSerialization`), so figures from different machines compare.
@main
enum ReplayBenchmark {
    static func main() {
        let options: BenchmarkOptions
        switch BenchmarkOptions.parse(Array(CommandLine.arguments.dropFirst())) {
        case .success(let parsed): options = parsed
        case .failure(let error):
            FileHandle.standardError.write(Data((error.message + "\n").utf8))
            exit(2)
        }
        let clock = ContinuousClock()

        let generator = CaptureGenerator(days: options.days, interval: options.interval, dagsPerDay: options.dagsPerDay)
        var capture: GeneratedCapture?
        let generation = clock.measure { capture = generator.generate() }
        guard let capture else { return }
        print(
            "capture: \(options.days) days of polls every \(options.interval) s, \(capture.dags) DAGs: "
                + "\(capture.lines) lines (\(capture.polls) polls, \(capture.failedPolls) failed, "
                + "\(capture.confirmations) confirmations), \(Self.megabytes(capture.data.count))"
        )
        print("generate: \(Self.seconds(generation)) (not part of the figures below)")

        var reading: CaptureReading?
        let read = clock.measure { reading = CaptureReader.read(capture.data, file: "generated.jsonl") }
        guard let reading else { return }
        print(
            "read: \(capture.lines) lines in \(Self.seconds(read)) = \(Self.rate(capture.lines, read)) lines/s "
                + "(entries: \(reading.entries.count), diagnostics: \(reading.diagnostics.count))"
        )
        for diagnostic in reading.diagnostics.prefix(3) { print("  \(diagnostic)") }

        var replayer = Replayer()
        var events: [Event] = []
        let replay = clock.measure { events = replayer.replay(reading.entries) }
        print(
            "replay: \(capture.polls) polls in \(Self.seconds(replay)) = \(Self.rate(capture.polls, replay)) polls/s "
                + "(events: \(events.count))"
        )
        let total = read + replay
        print(
            "read + replay: \(capture.polls) polls in \(Self.seconds(total)) = "
                + "\(Self.rate(capture.polls, total)) polls/s"
        )

        var parsed = 0
        let baseline = clock.measure {
            for line in capture.data.split(separator: UInt8(ascii: "\n")) {
                if (try? JSONSerialization.jsonObject(with: Data(line))) is [String: Any] { parsed += 1 }
            }
        }
        print(
            "baseline: JSONSerialization of \(parsed) lines in \(Self.seconds(baseline)) = "
                + "\(Self.rate(parsed, baseline)) lines/s"
        )
        print(
            "ratio to baseline: read \(Self.ratio(read, baseline)), replay \(Self.ratio(replay, baseline)), "
                + "read + replay \(Self.ratio(total, baseline))"
        )

        var counts: [EventType: Int] = [:]
        for event in events { counts[event.type, default: 0] += 1 }
        let tally = EventType.allCases.compactMap { type in counts[type].map { "\(type.rawValue) \($0)" } }
        print("events by type: " + (tally.isEmpty ? "none" : tally.joined(separator: ", ")))
    }

    private static func toSeconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    private static func seconds(_ duration: Duration) -> String {
        String(format: "%.2f s", self.toSeconds(duration))
    }

    private static func ratio(_ part: Duration, _ whole: Duration) -> String {
        let denominator = self.toSeconds(whole)
        guard denominator > 0 else { return "n/a" }
        return String(format: "%.2fx", self.toSeconds(part) / denominator)
    }

    private static func megabytes(_ bytes: Int) -> String {
        String(format: "%.1f MB", Double(bytes) / 1_000_000)
    }

    /// Per second, rounded to three significant digits and grouped by thousands (`161,000`).
    private static func rate(_ count: Int, _ duration: Duration) -> String {
        let seconds = self.toSeconds(duration)
        guard seconds > 0 else { return "n/a" }
        let value = Double(count) / seconds
        let magnitude = value >= 1 ? Int(log10(value)) : 0
        let step = pow(10, Double(max(0, magnitude - 2)))
        let rounded = Int((value / step).rounded() * step)
        var digits = String(rounded)
        var grouped = ""
        while digits.count > 3 {
            grouped = "," + digits.suffix(3) + grouped
            digits.removeLast(3)
        }
        return digits + grouped
    }
}
