/// One HTTP header field, kept exactly as given or received.
package struct HTTPHeader: Hashable, Sendable, CustomStringConvertible {
    /// The field name; compared case-insensitively by ``HTTPHeaders``.
    package var name: String
    /// The field value, without surrounding whitespace.
    package var value: String

    /// Creates a header field.
    /// - Parameters:
    ///   - name: The field name, an HTTP token such as `Content-Type`.
    ///   - value: The field value; it must not contain CR, LF or NUL.
    package init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    /// `Name: value`, for diagnostics (do not log headers that carry credentials).
    package var description: String {
        "\(self.name): \(self.value)"
    }
}

/// An ordered list of header fields that may repeat a name; lookups ignore the case of names.
///
/// Order and duplicates are preserved because both matter on the wire (`Set-Cookie`, `Via`, signed headers).
package struct HTTPHeaders: Hashable, Sendable, RandomAccessCollection, ExpressibleByDictionaryLiteral {
    /// The fields in order.
    package private(set) var fields: [HTTPHeader]

    /// Creates a list from fields, keeping their order.
    /// - Parameter fields: The header fields.
    package init(_ fields: [HTTPHeader] = []) {
        self.fields = fields
    }

    /// Creates a list from name/value pairs, keeping their order and any repeated names.
    /// - Parameter elements: The name/value pairs.
    package init(dictionaryLiteral elements: (String, String)...) {
        self.fields = elements.map { HTTPHeader(name: $0.0, value: $0.1) }
    }

    /// The position of the first field.
    package var startIndex: Int {
        self.fields.startIndex
    }

    /// The position after the last field.
    package var endIndex: Int {
        self.fields.endIndex
    }

    /// The field at a position.
    package subscript(position: Int) -> HTTPHeader {
        self.fields[position]
    }

    /// The value of the first field with this name (case-insensitive), or `nil`.
    package subscript(name: String) -> String? {
        self.fields.first { Self.namesMatch($0.name, name) }?.value
    }

    /// Every value of the fields with this name (case-insensitive), in order.
    /// - Parameter name: The field name to look for.
    /// - Returns: The values, empty when the name is absent.
    package func values(for name: String) -> [String] {
        self.fields.filter { Self.namesMatch($0.name, name) }.map(\.value)
    }

    /// Whether a field with this name (case-insensitive) is present.
    /// - Parameter name: The field name to look for.
    package func contains(name: String) -> Bool {
        self.fields.contains { Self.namesMatch($0.name, name) }
    }

    /// Appends a field after the existing ones, even if the name is already present.
    /// - Parameters:
    ///   - name: The field name.
    ///   - value: The field value.
    package mutating func append(name: String, value: String) {
        self.fields.append(HTTPHeader(name: name, value: value))
    }

    /// Replaces every field with this name (case-insensitive) by one field with the given value, appended at the end.
    /// - Parameters:
    ///   - name: The field name.
    ///   - value: The new value.
    package mutating func replaceOrAppend(name: String, value: String) {
        self.removeAll(name: name)
        self.append(name: name, value: value)
    }

    /// Removes every field with this name (case-insensitive).
    /// - Parameter name: The field name.
    package mutating func removeAll(name: String) {
        self.fields.removeAll { Self.namesMatch($0.name, name) }
    }

    /// Field names are ASCII tokens, so an ASCII-only case fold is both correct and locale-independent.
    static func namesMatch(_ lhs: String, _ rhs: String) -> Bool {
        let left = lhs.utf8
        let right = rhs.utf8
        guard left.count == right.count else { return false }
        return zip(left, right).allSatisfy { Self.asciiLower($0) == Self.asciiLower($1) }
    }

    private static func asciiLower(_ byte: UInt8) -> UInt8 {
        (byte >= 0x41 && byte <= 0x5A) ? byte + 0x20 : byte
    }
}
