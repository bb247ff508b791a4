import Foundation
import Logging
import Support
import Synchronization
import Tracker

/// How log lines are written.
enum LogFormat: String, CaseIterable, Sendable {
    /// `ts=... level=info logger=obwatch msg="target started" target=prod-east`: one line per record, greppable and
    /// read by Loki, Vector and friends.
    case logfmt
    /// One JSON object per line.
    case json
}

/// A swift-log handler writing one line per record to standard error, as logfmt or JSON.
struct LineLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level
    let label: String
    let format: LogFormat
    /// Where each record's `ts` is read.
    let clock: any ObwatchClock
    private let write: @Sendable (String) -> Void

    init(
        label: String,
        format: LogFormat,
        level: Logger.Level,
        clock: any ObwatchClock,
        write: @escaping @Sendable (String) -> Void
    ) {
        self.label = label
        self.format = format
        self.logLevel = level
        self.clock = clock
        self.write = write
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = self.metadata
        for (key, value) in event.metadata ?? [:] { merged[key] = value }
        let fields: [(String, String)] =
            [
                ("ts", Self.timestamp(self.clock.wallNow)), ("level", event.level.rawValue), ("logger", self.label),
                ("msg", "\(event.message)"),
            ] + merged.keys.sorted().map { ($0, "\(merged[$0] ?? "")") }
        self.write(self.format == .json ? Self.json(fields) : Self.logfmt(fields))
    }

    /// `key=value`, the value quoted when it holds a space, a quote, `=` or anything unprintable; one line always.
    static func logfmt(_ fields: [(String, String)]) -> String {
        fields.map { key, value in
            let plain =
                !value.isEmpty
                && value.unicodeScalars.allSatisfy { $0.value > 0x20 && $0 != "\"" && $0 != "=" && $0.value != 0x7F }
            return "\(key)=" + (plain ? value : Self.quoted(value))
        }.joined(separator: " ")
    }

    static func json(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\(Self.quoted($0.0)):\(Self.quoted($0.1))" }.joined(separator: ",") + "}"
    }

    /// A JSON string literal (also valid logfmt quoting); U+2028, U+2029 and DEL are escaped as well, since some log
    /// readers break lines on them, so a record is always one line.
    static func quoted(_ text: String) -> String {
        var result = ""
        for scalar in JSONStringLiteral.quoted(text).unicodeScalars {
            switch scalar {
            case "\u{2028}", "\u{2029}", "\u{7F}": result += String(format: "\\u%04X", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    private static func timestamp(_ date: Date) -> String {
        let formatter = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        return date.formatted(formatter)
    }

    private static let lock = Mutex(())

    /// Writes a whole line to standard error.
    static func standardError(_ line: String) {
        let data = Data((line + "\n").utf8)
        Self.lock.withLock { _ in FileHandle.standardError.write(data) }
    }
}

/// The logging options, read from the command line before any command runs (logging is bootstrapped once).
struct LoggingOptions: Equatable {
    var format: LogFormat = .logfmt
    var level: Logger.Level = .info

    /// The labels of the loggers obwatch hands to libraries (the service lifecycle, Hummingbird's servers), which
    /// log only the libraries' own workings.
    static let libraryLabels: Set<String> = ["obwatch.lifecycle", "obwatch.http", "obwatch.simulator"]

    /// The level of the logger with this label: `--log-level` for obwatch's own; for a library's, `info` at `debug`
    /// (`--log-level debug` is about obwatch: polls, routing, deliveries), the libraries' debug lines only at
    /// `trace`.
    /// - Parameter label: The logger's label.
    func level(for label: String) -> Logger.Level {
        guard Self.libraryLabels.contains(label), self.level == .debug else { return self.level }
        return .info
    }

    /// `--log-format logfmt|json` and `--log-level trace|debug|info|notice|warning|error|critical`, also written
    /// `--log-format=json`; the environment's `OBWATCH_LOG_FORMAT` and `OBWATCH_LOG_LEVEL` when the flags are absent.
    /// Unknown values keep the defaults (the command's own parsing reports them).
    static func parse(arguments: [String], environment: [String: String]) -> LoggingOptions {
        var options = LoggingOptions()
        func value(_ flag: String) -> String? {
            for (index, argument) in arguments.enumerated() {
                if argument == flag, index + 1 < arguments.count { return arguments[index + 1] }
                if argument.hasPrefix(flag + "=") { return String(argument.dropFirst(flag.count + 1)) }
            }
            return nil
        }
        if let text = value("--log-format") ?? environment["OBWATCH_LOG_FORMAT"], let format = LogFormat(rawValue: text)
        {
            options.format = format
        }
        if let text = value("--log-level") ?? environment["OBWATCH_LOG_LEVEL"], let level = Logger.Level(rawValue: text)
        {
            options.level = level
        }
        return options
    }
}
