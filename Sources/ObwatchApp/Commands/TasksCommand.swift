import ArgumentParser
import Curl
import Foundation
import History
import ObshellAgent
import ObshellModel
import Support
import YAML

/// `obwatch tasks`: one look at a cluster's unfinished DAGs.
struct TasksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks",
        abstract: "Show a cluster's unfinished task DAGs, each with a progress bar.",
        discussion: """
            Exits 0 after printing, 2 when the agent cannot be reached or refuses the password, 1 on any other \
            failure (an answer that cannot be read), 64 on a wrong command line. An agent on a unix socket needs \
            no password; over HTTP give the root@sys password with --password-env or --password-file.
            """
    )

    @Option(help: "The obshell agent: http://HOST:2886, https://..., or unix:///PATH/obshell.sock.")
    var url: String

    @OptionGroup var password: PasswordOptions

    @Option(
        help: "How long to wait for the agent, such as 30s or 1m (default: 10s).",
        transform: DurationArgument.parse
    )
    var timeout = DurationArgument(.seconds(10))

    @Flag(help: "Print the agent's DAG list as a JSON array with obshell's own field names, keys sorted.")
    var json = false

    @Option(help: "A history from `obwatch history export`: show each running DAG's ETA and its stage's usual time.")
    var history: String?

    @Option(help: "The target name the history knows this agent by (default: any target's history, 10 runs).")
    var target: String?

    func run() async throws {
        var known: DurationHistory?
        if let path = self.history {
            do {
                known = try HistoryFile.read(contentsOf: URL(fileURLWithPath: path))
            } catch {
                StandardError.write("obwatch tasks: \(error)")
                throw ExitCode(1)
            }
        }
        let output = await Self.look(
            url: self.url,
            password: try self.password.load(),
            timeout: self.timeout.duration,
            json: self.json,
            history: known.map { (history: $0, target: self.target ?? "") }
        )
        for line in output.lines { print(line) }
        if let error = output.error { StandardError.write(error) }
        if output.exitCode != 0 { throw ExitCode(output.exitCode) }
    }

    /// What `obwatch tasks` prints and its exit status, without touching the terminal (tests call this).
    struct Output {
        var lines: [String] = []
        var error: String?
        var exitCode: Int32 = 0
    }

    /// Asks the agent once and renders the answer.
    static func look(
        url: String,
        password: Password,
        timeout: Duration,
        json: Bool,
        history: (history: DurationHistory, target: String)? = nil
    ) async -> Output {
        let client = ObshellClient(
            baseURL: url,
            password: password,
            transport: CurlAgentTransport(baseURL: url, timeout: timeout)
        )
        let answer: (dags: [Dag], agentTime: ObshellTime?)
        do {
            answer = try await client.unfinishedDags(showDetails: true)
        } catch {
            let noAnswer: Set<ObshellError.Code> = [
                .unreachable, .timeout, .wrongPassword, .refused, .decryptFailed, .invalidTarget,
            ]
            return Output(
                error: "obwatch tasks: " + Self.explain(error, url: url, password: password, timeout: timeout),
                exitCode: noAnswer.contains(error.code) ? 2 : 1
            )
        }
        guard json else {
            var view = TaskListView()
            view.history = history
            return Output(lines: view.lines(for: answer.dags, agentTime: answer.agentTime))
        }
        // An empty array is `[]` (pretty printing would spread it over lines), and keys are sorted, so that the
        // output of two runs compares line by line.
        guard !answer.dags.isEmpty else { return Output(lines: ["[]"]) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(answer.dags) else {
            return Output(error: "obwatch tasks: cannot encode the DAG list", exitCode: 1)
        }
        return Output(lines: [Self.compactingEmptyContainers(String(decoding: data, as: UTF8.self))])
    }

    /// `{}` and `[]` for empty objects and arrays, which pretty printing spreads over blank lines. A string value
    /// never holds a raw line break (JSON escapes it), so only structure is touched.
    static func compactingEmptyContainers(_ json: String) -> String {
        json.replacing(/\{\n\s*\}/, with: "{}").replacing(/\[\n\s*\]/, with: "[]")
    }

    /// What went wrong, for a person: what the agent did, why, and for a refused empty password how to give one.
    static func explain(_ error: ObshellError, url: String, password: Password, timeout: Duration) -> String {
        let shown = Redacted.url(url)
        var detail = error.message
        if let errCode = error.errCode { detail += " [\(errCode)]" }
        if let status = error.status { detail += " (HTTP \(status))" }
        switch error.code {
        case .wrongPassword where password.isEmpty, .refused where password.isEmpty:
            return "\(shown) wants the root@sys password and none was given; pass it with --password-env VARIABLE "
                + "or --password-file FILE (the agent said: \(detail))"
        case .wrongPassword:
            return "\(shown) refused the password: \(detail)"
        case .unreachable:
            return "cannot connect to \(shown): \(detail)"
        case .timeout:
            return "\(shown) did not answer within \(WrittenDuration(timeout).text): \(detail)"
        default:
            return "\(shown): \(error)"
        }
    }
}

/// `--password-env VAR | --password-file FILE`: how a command gets an agent password without it appearing in the
/// process list or the shell history.
struct PasswordOptions: ParsableArguments {
    @Option(help: "Read the root@sys password from this environment variable.")
    var passwordEnv: String?

    @Option(help: "Read the root@sys password from this file (one trailing newline is ignored).")
    var passwordFile: String?

    func validate() throws {
        if self.passwordEnv != nil && self.passwordFile != nil {
            throw ValidationError("give --password-env or --password-file, not both")
        }
    }

    /// The password; empty when neither option is given (a SINGLE agent, or a unix socket).
    func load() throws -> Password {
        if let variable = self.passwordEnv {
            guard let value = ProcessInfo.processInfo.environment[variable] else {
                throw ValidationError("the environment variable \(variable) is not set")
            }
            return Password(value)
        }
        if let path = self.passwordFile {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("cannot read the password file \(path)")
            }
            var text = String(decoding: data, as: UTF8.self)
            if text.hasSuffix("\r\n") {
                text.removeLast(2)
            } else if text.hasSuffix("\n") {
                text.removeLast()
            }
            return Password(text)
        }
        return .empty
    }
}

/// Writes a line to standard error.
enum StandardError {
    static func write(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

/// URLs as they may be shown: without user information or query (which can carry tokens).
enum Redacted {
    static func url(_ url: String) -> String { URLRedaction.redact(url) }
}
