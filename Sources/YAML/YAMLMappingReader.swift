import Support

/// Takes the keys of a mapping one by one, then tells which keys nobody took, so a loader can report every unknown
/// key with its position and a suggestion.
///
/// ```swift
/// var target = try node.mappingReader()
/// let name = try target.required("name").string()
/// let interval = try target.optional("poll_interval") { try $0.duration() }
/// target.reportUnknownKeys(into: &diagnostics)   // unknown key "pol_interval" (did you mean "poll_interval"?)
/// ```
///
/// A key written with no value (`timeout:`) is present: ``optional(_:)`` returns its null node and the decoder decides.
package struct YAMLMappingReader: Sendable {
    /// A key of the mapping and where it is written.
    package struct Key: Sendable, Hashable {
        /// The key's text.
        package var name: String
        /// Where the key is written.
        package var mark: YAMLMark

        /// Makes a key.
        /// - Parameters:
        ///   - name: The key's text.
        ///   - mark: Where it is written.
        package init(name: String, mark: YAMLMark) {
            self.name = name
            self.mark = mark
        }
    }

    private struct Entry: Sendable {
        var name: String
        var key: YAMLNode
        var value: YAMLNode
    }

    /// The mapping being read.
    package let node: YAMLNode
    private let entries: [Entry]
    private var taken: [Bool]
    /// Every key a caller asked for, present or not: the vocabulary for suggestions.
    private var asked: [String] = []

    /// Makes a reader over a mapping.
    /// - Parameter node: The mapping to read.
    /// - Throws: ``YAMLError`` when `node` is not a mapping or one of its keys is not a string.
    package init(_ node: YAMLNode) throws(YAMLError) {
        var entries: [Entry] = []
        for pair in try node.mapping() {
            entries.append(Entry(name: try pair.key.keyString(), key: pair.key, value: pair.value))
        }
        self.node = node
        self.entries = entries
        self.taken = Array(repeating: false, count: entries.count)
    }

    /// The keys, in document order.
    package var keys: [Key] { self.entries.map { Key(name: $0.name, mark: $0.key.mark) } }

    /// Whether the mapping has `name` (taken or not).
    /// - Parameter name: The key.
    package func contains(_ name: String) -> Bool { self.entries.contains { $0.name == name } }

    /// Takes a key that must be there.
    /// - Parameter name: The key.
    /// - Returns: Its value.
    /// - Throws: ``YAMLError`` at the mapping when the key is missing.
    package mutating func required(_ name: String) throws(YAMLError) -> YAMLNode {
        guard let value = self.optional(name) else {
            throw YAMLError(
                code: .missingKey,
                message: "missing required key \(YAMLNode.quote(name))",
                at: self.node.mark
            )
        }
        return value
    }

    /// Takes a key that may be there.
    /// - Parameter name: The key.
    /// - Returns: Its value, or `nil` when the mapping does not have it.
    package mutating func optional(_ name: String) -> YAMLNode? {
        if !self.asked.contains(name) { self.asked.append(name) }
        guard let index = self.entries.firstIndex(where: { $0.name == name }) else { return nil }
        self.taken[index] = true
        return self.entries[index].value
    }

    /// Takes a key that must be there and decodes its value.
    /// - Parameters:
    ///   - name: The key.
    ///   - decode: How to decode the value.
    /// - Throws: ``YAMLError`` when the key is missing, or what `decode` throws.
    package mutating func required<T>(_ name: String, _ decode: (YAMLNode) throws -> T) throws -> T {
        try decode(try self.required(name))
    }

    /// Takes a key that may be there and decodes its value.
    /// - Parameters:
    ///   - name: The key.
    ///   - decode: How to decode the value.
    /// - Returns: The decoded value, or `nil` when the key is absent.
    /// - Throws: What `decode` throws.
    package mutating func optional<T>(_ name: String, _ decode: (YAMLNode) throws -> T) throws -> T? {
        guard let value = self.optional(name) else { return nil }
        return try decode(value)
    }

    /// The keys nobody took yet, in document order.
    package var untakenKeys: [Key] {
        self.entries.indices.filter { !self.taken[$0] }.map {
            Key(name: self.entries[$0].name, mark: self.entries[$0].key.mark)
        }
    }

    /// One ``YAMLError/Code/unknownKey`` error per key nobody took, at the key, suggesting the nearest known key.
    /// - Parameter known: More keys to suggest, besides every key already asked for through this reader.
    package func unknownKeyErrors(known: [String] = []) -> [YAMLError] {
        let vocabulary = self.asked + known
        return self.untakenKeys.map { key in
            var message = "unknown key \(YAMLNode.quote(key.name))"
            if let suggestion = nearest(to: key.name, among: vocabulary) {
                message += " (did you mean \(YAMLNode.quote(suggestion))?)"
            }
            return YAMLError(code: .unknownKey, message: message, at: key.mark)
        }
    }

    /// Records ``unknownKeyErrors(known:)`` in `diagnostics`.
    /// - Parameters:
    ///   - diagnostics: Where to record them.
    ///   - known: More keys to suggest, besides every key already asked for.
    package func reportUnknownKeys(into diagnostics: inout Diagnostics, known: [String] = []) {
        for error in self.unknownKeyErrors(known: known) { diagnostics.append(error) }
    }
}
