/// A value that must never be printed: a password, a token, a signing key, a webhook URL that holds a key.
///
/// `description`, `debugDescription` and string interpolation all show `<redacted>`; only ``revealed`` gives the value,
/// and only code that puts it on the wire calls it.
package struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    private let value: String

    /// Wraps a secret value.
    package init(_ value: String) { self.value = value }

    /// The value itself, for the request that needs it.
    package var revealed: String { self.value }

    /// Whether the value is empty.
    package var isEmpty: Bool { self.value.isEmpty }

    package var description: String { "<redacted>" }
    package var debugDescription: String { "<redacted>" }
}
