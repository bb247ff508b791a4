package import Foundation
package import ObshellAgent
package import ObshellModel
import Synchronization
import Tracker

/// Appends every exchange with every agent to one capture file (CONTRACT section 5), for `--record`.
///
/// One recorder serves all targets; a mutex keeps each line whole. Each poller records the exchanges its cycle
/// returns: a short blocking append of one line each.
package final class CaptureRecorder: Sendable {
    private let handle: Mutex<FileHandle>

    /// Opens (or creates) the file for appending.
    /// - Throws: ``CaptureFileError`` when the file cannot be opened.
    package init(path: String) throws(CaptureFileError) {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw CaptureFileError(message: "cannot create the capture file \(path)")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw CaptureFileError(message: "cannot open the capture file \(path) for writing")
        }
        do {
            let end = try handle.seekToEnd()
            // A kill -9 can cut a write to a regular file short: the unfinished last line was never recorded, so
            // it is dropped and the capture still replays line by line.
            if end > 0, let whole = Self.lengthOfWholeLines(path: path, size: end), whole < end {
                try handle.truncate(atOffset: whole)
                try handle.seekToEnd()
            }
        } catch {
            throw CaptureFileError(message: "cannot append to the capture file \(path)", cause: error)
        }
        self.handle = Mutex(handle)
    }

    /// How many bytes of the file end in a newline: its size when it ends with one, else the offset after its last.
    private static func lengthOfWholeLines(path: String, size: UInt64) -> UInt64? {
        guard let reader = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? reader.close() }
        // Lines are at most a few megabytes (an agent's answer); read back in chunks until a newline shows.
        var offset = size
        let chunk: UInt64 = 64 << 10
        while offset > 0 {
            let start = offset > chunk ? offset - chunk : 0
            guard (try? reader.seek(toOffset: start)) != nil,
                let data = try? reader.read(upToCount: Int(offset - start))
            else { return nil }
            if let newline = data.lastIndex(of: UInt8(ascii: "\n")) {
                return start + UInt64(newline - data.startIndex) + 1
            }
            offset = start
        }
        return 0
    }

    /// Appends one exchange as a capture line.
    /// - Parameters:
    ///   - exchange: What the client sent and what came back, and when it ended by the daemon's clock.
    ///   - target: The target's name.
    package func record(_ exchange: ObshellClient.Exchange, target: String) {
        let line = Self.line(exchange, target: target)
        self.handle.withLock { handle in
            // A full disk must not stop the polling; the capture is a debugging aid.
            try? handle.write(contentsOf: Data((line + "\n").utf8))
        }
    }

    /// The capture line of an exchange, without its newline.
    package static func line(_ exchange: ObshellClient.Exchange, target: String) -> String {
        CaptureWriter().line(
            at: ObshellTime(date: exchange.at),
            target: target,
            request: exchange.request,
            status: exchange.response?.status,
            body: exchange.response?.body,
            error: exchange.error.map { "\($0)" }
        )
    }

    /// Closes the file.
    package func close() {
        self.handle.withLock { try? $0.close() }
    }
}

/// A `--record` file that cannot be opened for appending.
package struct CaptureFileError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, with the path.
    package var message: String
    /// The underlying error.
    package var cause: (any Error)?

    /// Makes an error.
    package init(message: String, cause: (any Error)? = nil) {
        self.message = message
        self.cause = cause
    }

    package var description: String { self.message }
}
