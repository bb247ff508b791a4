import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few ANSI sequences the live view needs, and how a frame is put together from them.
///
/// A frame never clears the whole screen (that flickers): it moves the cursor home, overwrites each row and clears
/// only what is left of it, then clears below the last row.
enum ANSI {
    /// Hides the cursor while frames are drawn.
    static let hideCursor = "\u{1B}[?25l"
    /// Shows the cursor again.
    static let showCursor = "\u{1B}[?25h"
    /// Moves the cursor to the top-left cell.
    static let home = "\u{1B}[H"
    /// Clears from the cursor to the end of its row.
    static let clearToEndOfLine = "\u{1B}[K"
    /// Clears from the cursor to the end of the screen.
    static let clearToEndOfScreen = "\u{1B}[J"

    /// One frame: home, each row followed by clear-to-end-of-line, then clear-to-end-of-screen.
    ///
    /// Rows are separated by CR LF so the frame does not depend on the terminal's newline translation, and the last
    /// row has no line break, so that a frame as high as the screen does not scroll it.
    static func frame(_ lines: [String]) -> String {
        Self.home + lines.joined(separator: Self.clearToEndOfLine + "\r\n") + Self.clearToEndOfLine
            + Self.clearToEndOfScreen
    }
}

/// The process's standard output as a terminal: whether it is one, its size, and raw writes.
enum WatchTerminal {
    /// The size used when the terminal does not tell its own.
    static let fallbackSize = (width: 80, height: 24)

    /// Whether standard output is a terminal (then the view is drawn in place).
    static var isTerminal: Bool { isatty(STDOUT_FILENO) == 1 }

    /// The terminal's columns and rows, from the kernel, else `COLUMNS`/`LINES`, else 80×24.
    static func size() -> (width: Int, height: Int) {
        var window = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &window) == 0, window.ws_col > 0, window.ws_row > 0 {
            return (Int(window.ws_col), Int(window.ws_row))
        }
        let environment = ProcessInfo.processInfo.environment
        if let columns = environment["COLUMNS"].flatMap({ Int($0) }),
            let rows = environment["LINES"].flatMap({ Int($0) }),
            columns > 0, rows > 0
        {
            return (columns, rows)
        }
        return Self.fallbackSize
    }

    /// Writes text to standard output at once (no buffering, so a pipe sees each line as it is made).
    ///
    /// A reader that went away must not crash the view: the error is dropped, and Ctrl-C still ends it.
    static func write(_ text: String) {
        try? FileHandle.standardOutput.write(contentsOf: Data(text.utf8))
    }
}
