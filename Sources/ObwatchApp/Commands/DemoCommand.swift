import ArgumentParser

/// `obwatch demo`: the embedded default, grown issue by issue until the daemon makes it the real one.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Show obwatch at work on a bundled scenario, with nothing to configure."
    )

    func run() async throws {
        print("obwatch \(ObwatchVersion.current)")
    }
}
