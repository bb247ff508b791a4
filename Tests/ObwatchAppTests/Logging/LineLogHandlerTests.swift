import Foundation
import Logging
import ObwatchTestKit
import Synchronization
import Testing

@testable import ObwatchApp

@Suite("Logging: logfmt and JSON lines")
struct LineLogHandlerTests {
    final class Lines: Sendable {
        let all = Mutex<[String]>([])
    }

    private func logger(_ format: LogFormat, _ lines: Lines) -> Logger {
        Logger(label: "obwatch.test") { label in
            LineLogHandler(label: label, format: format, level: .info, clock: ManualClock()) { line in
                lines.all.withLock { $0.append(line) }
            }
        }
    }

    @Test("logfmt: one line, values quoted only when needed, every line about a target names it")
    func logfmt() throws {
        let lines = Lines()
        var logger = self.logger(.logfmt, lines)
        logger[metadataKey: "target"] = "prod-east"
        logger.info("poll failed", metadata: ["error": "HTTP 500: boom\nsecond line", "attempt": "3"])
        logger.debug("hidden below the level")
        let line = try #require(lines.all.withLock { $0 }.first)
        #expect(lines.all.withLock { $0.count } == 1)
        #expect(!line.contains("\n"))
        #expect(
            line.contains(
                #" level=info logger=obwatch.test msg="poll failed" attempt=3 error="HTTP 500: boom\nsecond line" target=prod-east"#
            )
        )
        // The time is the injected clock's: ManualClock's wall time starts at 1_700_000_000.
        #expect(line.hasPrefix("ts=2023-11-14T22:13:20.000Z "))
    }

    @Test("JSON: one object per line that parses back")
    func json() throws {
        let lines = Lines()
        self.logger(.json, lines).warning("say \"hi\"", metadata: ["receiver": "db-chat"])
        let line = try #require(lines.all.withLock { $0 }.first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["msg"] == "say \"hi\"" && object["level"] == "warning" && object["receiver"] == "db-chat")
    }

    @Test("options come from the flags, else the environment, else logfmt at info")
    func options() {
        #expect(LoggingOptions.parse(arguments: ["obwatch", "run"], environment: [:]) == LoggingOptions())
        #expect(
            LoggingOptions.parse(
                arguments: ["obwatch", "run", "--log-format", "json", "--log-level=debug"],
                environment: [:]
            )
                == LoggingOptions(format: .json, level: .debug)
        )
        #expect(
            LoggingOptions.parse(arguments: ["obwatch"], environment: ["OBWATCH_LOG_FORMAT": "json"]).format == .json
        )
    }

    @Test("--log-level debug is obwatch's: the lifecycle and HTTP libraries stay at info unless trace")
    func libraryLoggers() {
        let debug = LoggingOptions(format: .logfmt, level: .debug)
        #expect(debug.level(for: "obwatch") == .debug)
        #expect(debug.level(for: "obwatch.delivery") == .debug)
        #expect(debug.level(for: "obwatch.lifecycle") == .info)
        #expect(debug.level(for: "obwatch.http") == .info)
        #expect(LoggingOptions(format: .logfmt, level: .trace).level(for: "obwatch.lifecycle") == .trace)
        #expect(LoggingOptions(format: .logfmt, level: .warning).level(for: "obwatch.http") == .warning)
    }
}
