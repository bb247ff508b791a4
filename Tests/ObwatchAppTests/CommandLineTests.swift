import ArgumentParser
import Foundation
import Testing

@testable import ObwatchApp

@Suite("Command line")
struct CommandLineTests {
    @Test("--version prints the version and exits 0")
    func version() throws {
        #expect(ObwatchVersion.current.split(separator: ".").count == 3)
        // The parser ends at --version with a clean exit whose message is the version, as `main()` prints it.
        do {
            _ = try ObwatchCommand.parseAsRoot(["--version"])
            Issue.record("--version parsed as a command instead of printing the version")
        } catch {
            #expect(ObwatchCommand.exitCode(for: error) == .success)
            #expect(ObwatchCommand.fullMessage(for: error) == ObwatchVersion.current)
        }
        // The built executable, as a user runs it.
        guard let executable = KillRestartTests.executableForTests() else {
            Issue.record("no built obwatch executable next to the tests or under .build-run/.build; build it first")
            return
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = ["--version"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(String(decoding: printed, as: UTF8.self) == ObwatchVersion.current + "\n")
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
