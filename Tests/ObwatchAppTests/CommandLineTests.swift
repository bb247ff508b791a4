import ArgumentParser
import Testing

@testable import ObwatchApp

@Suite("Command line")
struct CommandLineTests {
    @Test("--version prints the version")
    func version() {
        #expect(ObwatchCommand.configuration.version == ObwatchVersion.current)
        #expect(ObwatchVersion.current.split(separator: ".").count == 3)
    }

    @Test("--help lists the subcommands")
    func help() {
        let help = ObwatchCommand.helpMessage()
        #expect(help.contains("USAGE: obwatch"))
        #expect(help.contains("demo"))
    }

    @Test("no help shows a stray backslash", arguments: ObwatchCommand.configuration.subcommands.map { "\($0)" })
    func helpHasNoBackslash(command: String) throws {
        let type = try #require(ObwatchCommand.configuration.subcommands.first { "\($0)" == command })
        let help = ObwatchCommand.helpMessage(for: type, includeHidden: false, columns: 200)
        #expect(!help.contains("\\"), "\(help)")
        #expect(!ObwatchCommand.helpMessage().contains("\\"))
    }

    @Test("an unknown subcommand is a usage error, not a crash")
    func unknownSubcommand() {
        #expect(throws: (any Error).self) { try ObwatchCommand.parseAsRoot(["frobnicate"]) }
    }
}
