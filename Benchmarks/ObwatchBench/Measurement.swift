import Foundation
import Support

#if canImport(Glibc)
import Glibc
#endif

/// What one benchmark run cost: the process's CPU time (every thread, libcurl's and the outbox's included) and the
/// wall-clock time over the measured loop only.
struct Cost {
    var cpuSeconds: Double
    var wallSeconds: Double

    /// Runs `body` and measures it; set-up before the call and tear-down after are not counted.
    static func measure(_ body: () async throws -> Void) async rethrows -> Cost {
        let cpuBefore = Self.processCPUSeconds()
        let wallBefore = ContinuousClock.now
        try await body()
        let wall = ContinuousClock.now - wallBefore
        let (seconds, attoseconds) = wall.components
        return Cost(
            cpuSeconds: Self.processCPUSeconds() - cpuBefore,
            wallSeconds: Double(seconds) + Double(attoseconds) / 1e18
        )
    }

    /// User plus system time of the whole process so far.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}

/// The one JSON line each benchmark prints: the figures a driver script reads and sets against its baseline.
struct ResultLine {
    private var fields: [(String, String)] = []

    init(bench: String) {
        self.fields.append(("bench", Self.quote(bench)))
    }

    mutating func add(_ key: String, _ value: Int) { self.fields.append((key, String(value))) }
    mutating func add(_ key: String, _ value: Double) { self.fields.append((key, String(format: "%.6f", value))) }
    mutating func add(_ key: String, _ value: String) { self.fields.append((key, Self.quote(value))) }

    mutating func add(_ cost: Cost) {
        self.add("cpu_s", cost.cpuSeconds)
        self.add("wall_s", cost.wallSeconds)
    }

    func print() {
        Swift.print("{" + self.fields.map { "\(Self.quote($0.0)):\($0.1)" }.joined(separator: ",") + "}")
    }

    private static func quote(_ text: String) -> String { JSONStringLiteral.quoted(text) }
}
