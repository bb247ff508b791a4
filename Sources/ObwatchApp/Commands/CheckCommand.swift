import ArgumentParser
import ConfigLoading
import Foundation

/// `obwatch check`: validates a configuration and prints every problem, or a summary when it is valid.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a configuration, its included rule files and its templates.",
        discussion: """
            Prints one FILE:LINE:COL: error: MESSAGE (or warning:) line per problem, all of them, then a \
            summary. Every template is rendered against a sample event of every type. Exits 0 when the \
            configuration is usable (warnings allowed), 1 when it is not. Secrets are read but never printed.
            """
    )

    @Option(help: "The configuration file (YAML).")
    var config: String

    func run() throws {
        let report = ConfigCheck.run(contentsOfFile: self.config)
        let output = report.lines.joined(separator: "\n") + "\n"
        FileHandle.standardOutput.write(Data(output.utf8))
        if !report.isValid { throw ExitCode(1) }
    }
}
