import ArgumentParser
import Foundation
import Logging
import Support

/// The process entry point the thin `obwatch` executable calls.
package enum ObwatchMain {
    /// Bootstraps logging (to stderr, so stdout stays for output; logfmt or JSON lines), parses the command line
    /// and runs the command.
    package static func run() async {
        let options = LoggingOptions.parse(
            arguments: CommandLine.arguments,
            environment: ProcessInfo.processInfo.environment
        )
        let clock = SystemClock()
        LoggingSystem.bootstrap { label in
            LineLogHandler(label: label, format: options.format, level: options.level(for: label), clock: clock) {
                LineLogHandler.standardError($0)
            }
        }
        await ObwatchCommand.main()
    }
}
