/// A secret (an agent or database password) that never prints itself.
///
/// `description`, `debugDescription` and reflection all show `<redacted>`, so a password cannot reach a log line or
/// an error message by accident; only ``reveal()`` gives the text, at the one place that sends it.
package struct Password: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    private let value: String

    /// Wraps a secret.
    package init(_ value: String) { self.value = value }

    /// The empty password: what obshell expects from a SINGLE agent and from a cluster without a root password.
    package static let empty = Password("")

    /// Whether the password is empty.
    package var isEmpty: Bool { self.value.isEmpty }

    /// The secret itself, for the request header only.
    package func reveal() -> String { self.value }

    /// `<redacted>`.
    package var description: String { "<redacted>" }
    /// `<redacted>`.
    package var debugDescription: String { "<redacted>" }
    /// Hides the value from `dump` and the debugger.
    package var customMirror: Mirror { Mirror(self, children: []) }
}
