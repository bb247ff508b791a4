/// A secret (an agent or database password) that never prints itself.
///
/// `description`, `debugDescription` and reflection all show `<redacted>`, so a password cannot reach a log line or
/// an error message by accident; only ``reveal()`` gives the text, at the one place that sends it.
public struct Password: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    private let value: String

    /// Wraps a secret.
    public init(_ value: String) { self.value = value }

    /// The empty password: what obshell expects from a SINGLE agent and from a cluster without a root password.
    public static let empty = Password("")

    /// Whether the password is empty.
    public var isEmpty: Bool { self.value.isEmpty }

    /// The secret itself, for the request header only.
    public func reveal() -> String { self.value }

    /// `<redacted>`.
    public var description: String { "<redacted>" }
    /// `<redacted>`.
    public var debugDescription: String { "<redacted>" }
    /// Hides the value from `dump` and the debugger.
    public var customMirror: Mirror { Mirror(self, children: []) }
}
