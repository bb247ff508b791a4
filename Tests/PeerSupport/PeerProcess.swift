public import Foundation
import Synchronization

/// A failure while launching or talking to a peer process.
public struct PeerError: Error, CustomStringConvertible {
    /// What went wrong, with the peer's standard error when it has said something.
    public var message: String

    /// Makes an error.
    public init(message: String) {
        self.message = message
    }

    public var description: String {
        self.message
    }
}

/// A helper server (usually a Python script) that a test starts, reads lines from, and stops.
///
/// The peer reports readiness by printing a line (a port number, or `ready`); tests await that line instead of
/// sleeping. Its standard input stays open while the test runs, so a peer that exits on end-of-input cannot outlive
/// a crashed test. Shared by the test targets that start Python peers (the PeerSupport target).
public final class PeerProcess {
    private let process: Process
    private let input: Pipe
    private var lines: AsyncStream<String>.Iterator
    private var exits: AsyncStream<Int32>.Iterator
    private let errorOutput: LineBuffer
    private var stopped = false

    /// The interpreter used for the Python peers: Debian's, so Debian packages such as python3-aiosmtpd are found.
    public static let python = "/usr/bin/python3"

    private init(
        process: Process,
        input: Pipe,
        lines: AsyncStream<String>,
        exits: AsyncStream<Int32>,
        errorOutput: LineBuffer
    ) {
        self.process = process
        self.input = input
        self.lines = lines.makeAsyncIterator()
        self.exits = exits.makeAsyncIterator()
        self.errorOutput = errorOutput
    }

    /// Starts a program with its standard output delivered line by line.
    /// - Parameters:
    ///   - executable: The program's absolute path.
    ///   - arguments: Its arguments.
    /// - Returns: The running peer; call ``stop()`` when done.
    public static func launch(executable: String, arguments: [String]) throws -> PeerProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors

        let (lines, lineSink) = AsyncStream<String>.makeStream()
        let outputBuffer = LineBuffer()
        PipeDrain.start(
            output.fileHandleForReading,
            onData: { data in
                for line in outputBuffer.append(data) { lineSink.yield(line) }
            },
            onEnd: { lineSink.finish() }
        )
        let errorOutput = LineBuffer()
        PipeDrain.start(errors.fileHandleForReading, onData: { _ = errorOutput.append($0) }, onEnd: {})
        let (exits, exitSink) = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { finished in
            exitSink.yield(finished.terminationStatus)
            exitSink.finish()
        }

        do {
            try process.run()
        } catch {
            throw PeerError(message: "could not start \(executable): \(error)")
        }
        return PeerProcess(process: process, input: input, lines: lines, exits: exits, errorOutput: errorOutput)
    }

    /// Starts a Python script with Debian's interpreter.
    /// - Parameters:
    ///   - script: The script's file URL.
    ///   - arguments: The script's arguments.
    public static func launchPython(script: URL, arguments: [String] = []) throws -> PeerProcess {
        try self.launch(executable: self.python, arguments: ["-u", "-B", script.path] + arguments)
    }

    /// Waits for the peer's next line of standard output.
    /// - Throws: ``PeerError`` if the peer closed its output (usually because it exited) first.
    public func nextLine() async throws -> String {
        if let line = await self.lines.next(isolation: #isolation) {
            return line
        }
        throw PeerError(message: "the peer closed its output; its stderr: \(self.errorOutput.text)")
    }

    /// Closes the peer's standard input, terminates it and waits until it has exited.
    public func stop() async {
        guard !self.stopped else { return }
        self.stopped = true
        try? self.input.fileHandleForWriting.close()
        if self.process.isRunning {
            self.process.terminate()
        }
        _ = await self.exits.next(isolation: #isolation)
    }

    /// What the peer wrote to standard error so far, for failure messages.
    public var standardError: String {
        self.errorOutput.text
    }
}

/// Runs `body` with a started peer and its first line, and stops the peer however `body` ends.
public func withPeer<Result>(
    _ peer: PeerProcess,
    _ body: (PeerProcess, String) async throws -> Result
) async throws -> Result {
    do {
        let firstLine = try await peer.nextLine()
        let result = try await body(peer, firstLine)
        await peer.stop()
        return result
    } catch {
        await peer.stop()
        throw error
    }
}

/// Splits a byte stream into lines; fed from the pipe's handler queue, read by the test.
private final class LineBuffer: Sendable {
    private let state = Mutex<(pending: [UInt8], all: [UInt8])>(([], []))

    /// Adds bytes and returns the lines they completed.
    func append(_ data: Data) -> [String] {
        self.state.withLock { state in
            state.all.append(contentsOf: data)
            state.pending.append(contentsOf: data)
            var lines: [String] = []
            while let newline = state.pending.firstIndex(of: UInt8(ascii: "\n")) {
                var line = state.pending[..<newline]
                if line.last == UInt8(ascii: "\r") {
                    line = line.dropLast()
                }
                lines.append(String(decoding: line, as: UTF8.self))
                state.pending.removeSubrange(...newline)
            }
            return lines
        }
    }

    /// Everything received so far.
    var text: String {
        self.state.withLock { String(decoding: $0.all, as: UTF8.self) }
    }
}
