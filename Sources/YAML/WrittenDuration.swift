/// A duration together with the text it was written as, so that events and messages can show a threshold the way
/// the user wrote it (`30m`, not `1800 seconds`).
///
/// The syntax is whole numbers, each followed by a unit (`d`, `h`, `m`, `s`, `ms`), units from the largest to the
/// smallest and each at most once: `30s`, `5m`, `1h30m`, `1h30m15s`, `500ms`, `1d`. No sign, no fractions (`1.5h`
/// is written `1h30m`), no spaces.
package struct WrittenDuration: Sendable, Hashable, CustomStringConvertible {
    /// The text as written.
    package let text: String
    /// Its value.
    package let duration: Duration

    /// Parses a duration.
    /// - Parameter text: The text, such as `1h30m`.
    /// - Returns: `nil` when the text is not a duration.
    package init?(_ text: String) {
        guard let written = try? Self(validating: text) else { return nil }
        self = written
    }

    /// A duration written in the shortest form of the syntax, to the millisecond (for defaults the user did not
    /// write: `.seconds(1800)` gives `30m`).
    /// - Parameter duration: The duration; negative ones count as zero.
    package init(_ duration: Duration) {
        self.text = duration.yamlText
        self.duration = Duration(yamlText: self.text) ?? .zero
    }

    /// Parses a duration, explaining what is wrong when it cannot.
    init(validating text: String) throws(Duration.SyntaxError) {
        self.duration = try Duration.parseYAMLDuration(text)
        self.text = text
    }

    /// The text as written.
    package var description: String { self.text }

    /// Why a text is not a duration, such as `the number 10 needs a unit (ms, s, m, h or d)`; `nil` when it is one.
    /// - Parameter text: The text.
    package static func problem(with text: String) -> String? {
        do {
            _ = try Self(validating: text)
            return nil
        } catch {
            return error.reason
        }
    }
}
