import ArgumentParser
import Foundation
import Logging
import Simulator
import UnixSignals

/// `obwatch simulate`: a faithful obshell task API, driven by a scenario file.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Serve obshell's task API from a scenario file, with obshell's real authentication.",
        discussion: """
            Prints `listening on http://HOST:PORT` (and the unix socket, if any) once it accepts requests, then \
            serves until interrupted: SIGTERM or SIGINT stops it and it exits 0. The scenario format is described \
            in the README; bundled ones are under scenarios/.
            """
    )

    @Option(help: "The scenario file (YAML).")
    var scenario: String

    @Option(help: "HOST:PORT to listen on; port 0 picks a free one.")
    var listen: String = "127.0.0.1:2886"

    @Option(help: "The root@sys password the agent accepts (replaces the scenario's).")
    var password: String?

    @Option(help: "The RSA key size: 512 (obshell up to 4.4.1) or 1024 (4.4.2 and later).")
    var keyBits: Int = 1024

    @Option(help: "Also listen on this unix socket path, without authentication, like obshell's local socket.")
    var unix: String?

    @Flag(help: "Move the scenario clock only through POST /_simulator/advance?by=DURATION.")
    var manualClock = false

    func validate() throws {
        guard self.keyBits == 512 || self.keyBits == 1024 else {
            throw ValidationError("--key-bits takes 512 or 1024")
        }
        guard ListenAddress(self.listen) != nil else {
            throw ValidationError("--listen takes HOST:PORT, e.g. 127.0.0.1:2886 or [::1]:0")
        }
    }

    func run() async throws {
        guard let address = ListenAddress(self.listen) else { throw ExitCode.validationFailure }
        let scenario: Scenario
        do {
            scenario = try Scenario.load(contentsOfFile: self.scenario)
        } catch {
            if error.diagnostics.isEmpty {
                StandardError.write("\(error)")
            } else {
                for line in error.diagnostics { StandardError.write(line) }
            }
            throw ExitCode(1)
        }
        let simulator = try ObshellSimulator(
            scenario: scenario,
            configuration: ObshellSimulator.Configuration(
                host: address.host,
                port: address.port,
                unixSocketPath: self.unix,
                keyBits: self.keyBits,
                clock: self.manualClock ? .manual : .realTime,
                password: self.password
            )
        )
        // Trapped before serving, so that a stop asked for as soon as the ready line appears is not the default
        // action (death by the signal, exit 143).
        let stopSignals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        do {
            try await Self.serve(simulator, stopSignals: stopSignals)
        } catch {
            StandardError.write("obwatch simulate: cannot serve on \(self.listen): \(error)")
            throw ExitCode(1)
        }
    }

    /// Serves until a stop signal, then cancels the server (held requests released).
    private static func serve(_ simulator: ObshellSimulator, stopSignals: UnixSignalsSequence) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await simulator.run() }
            group.addTask {
                // A stop asked for is a normal end: the server is cancelled (held requests released) and the
                // command exits 0.
                for await _ in stopSignals { return }
            }
            let bound = try await simulator.addresses()
            // Written unbuffered: a script that starts the simulator waits for this line.
            var ready = ""
            if let url = bound.baseURL { ready += "listening on \(url)\n" }
            if let socket = bound.unixSocketPath { ready += "listening on unix://\(socket)\n" }
            FileHandle.standardOutput.write(Data(ready.utf8))
            try await group.next()
            group.cancelAll()
        }
    }
}

/// `HOST:PORT`, with IPv6 hosts in brackets.
struct ListenAddress: Equatable {
    var host: String
    var port: Int

    init?(_ text: String) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                return nil
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), (0...65_535).contains(port) else { return nil }
        self.host = String(host)
        self.port = port
    }
}
