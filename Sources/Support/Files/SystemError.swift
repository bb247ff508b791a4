#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A system error in the words an operator reads after a colon: `strerror`'s text with a lower-case first letter
/// (`read-only file system`, `permission denied`), never a Foundation error dump.
package enum SystemError {
    /// The words for `code` (an `errno` value).
    package static func words(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        let message = String(cString: text)
        return message.prefix(1).lowercased() + message.dropFirst()
    }
}
