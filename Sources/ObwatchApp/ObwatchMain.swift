import ArgumentParser

/// The process entry point the thin `obwatch` executable calls.
public enum ObwatchMain {
    /// Parses the command line and runs the chosen command; exits with its status.
    public static func run() async {
        await ObwatchCommand.main()
    }
}
