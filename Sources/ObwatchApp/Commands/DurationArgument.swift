import ArgumentParser
import YAML

/// A duration on the command line, in the syntax of every duration in the config (`10s`, `1m30s`, `500ms`), so that
/// `--timeout 10` is refused with what to write instead of being read in some unit the user did not say.
struct DurationArgument: Sendable, Hashable, CustomStringConvertible {
    /// The duration and its text.
    let written: WrittenDuration

    /// The duration.
    var duration: Duration { self.written.duration }

    /// A default, written in the shortest form (`.seconds(10)` gives `10s`).
    /// - Parameter duration: The duration.
    init(_ duration: Duration) {
        self.written = WrittenDuration(duration)
    }

    /// The text as written, which the help shows as the default.
    var description: String { self.written.text }

    /// Parses an option's value (ArgumentParser's `transform:`), refusing zero and text that is no duration with a
    /// reason: `the number 10 needs a unit (ms, s, m, h or d); write 10s`.
    /// - Parameter text: The value as given.
    /// - Throws: `ValidationError` saying what to write.
    static func parse(_ text: String) throws -> DurationArgument {
        if let problem = WrittenDuration.problem(with: text) {
            let hint = !text.isEmpty && text.allSatisfy(\.isNumber) ? "; write \(text)s" : ""
            throw ValidationError("\(problem)\(hint)")
        }
        guard let written = WrittenDuration(text), written.duration > .zero else {
            throw ValidationError("the duration must be more than 0, such as 5s")
        }
        return DurationArgument(written: written)
    }

    private init(written: WrittenDuration) {
        self.written = written
    }
}
