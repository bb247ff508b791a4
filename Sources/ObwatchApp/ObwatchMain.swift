import ArgumentParser
import Logging

/// The process entry point the thin `obwatch` executable calls.
public enum ObwatchMain {
    /// Bootstraps logging (to stderr, so stdout stays for output), parses the command line and runs the command.
    public static func run() async {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        await ObwatchCommand.main()
    }
}
