package import Foundation

/// A drop-in for Foundation's `JSONDecoder` (default strategies only) that reads obshell's answers over three times
/// faster: the document is scanned once into a flat ``JSONTree``, and values are converted only when asked for.
///
/// Errors are Foundation's `DecodingError`s with the same cases, coding paths and descriptions, so
/// ``ObshellError`` messages do not change. Where the two readers differ (both documented in FastJSONTests):
/// - this reader is strict RFC 8259: a trailing comma (`[1,]`, `{"a":1,}`) and a `\u` high surrogate followed by
///   another escape that is not a low surrogate are rejected; Foundation accepts both;
/// - `allKeys` lists keys in document order (Foundation: hash order); a repeated key counts once and, as in
///   Foundation, its first value is the one decoded.
package struct FastJSONDecoder: Sendable {
    /// Makes a decoder.
    package init() {}

    /// Decodes a value from a whole JSON document.
    /// - Throws: `DecodingError`; a document that is not JSON, nests deeper than 512, or holds a number that does not
    ///   fit the type asked is `dataCorrupted` with an empty coding path, as Foundation reports it, and the
    ///   ``JSONSyntaxError`` as its `underlyingError`.
    package func decode<Value: Decodable>(_ type: Value.Type, from data: Data) throws -> Value {
        try self.decode(type, from: Self.parse(data))
    }

    /// Parses a document once, for callers that read it more than one way; the failure is the `DecodingError`
    /// ``decode(_:from:)`` would throw.
    package static func parse(_ data: Data) -> Result<JSONTree, DecodingError> {
        do {
            return .success(try JSONTree(data))
        } catch {
            return .failure(JSONTree.notJSON(error))
        }
    }

    /// Decodes a value from a parsed document.
    func decode<Value: Decodable>(_ type: Value.Type, from parsed: Result<JSONTree, DecodingError>) throws -> Value {
        try JSONTreeDecoder(tree: parsed.get(), node: 0, fixedPath: nil).decodeValue(Value.self)
    }
}

/// A coding key the reader makes itself: a member name, or an array index spelt `Index N` as Foundation does.
struct JSONKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(_ string: String) {
        self.stringValue = string
        self.intValue = nil
    }

    init(index: Int) {
        self.stringValue = "Index \(index)"
        self.intValue = index
    }

    init?(stringValue: String) { self.init(stringValue) }

    init?(intValue: Int) { self.init(index: intValue) }
}

extension JSONNode.Kind {
    /// How Foundation names a value it did not expect.
    var foundDescription: String {
        switch self {
        case .null: "null"
        case .bool: "bool"
        case .number: "number"
        case .string: "a string"
        case .array: "an array"
        case .object: "a dictionary"
        }
    }
}

// Reading values and locating them; every error path is rebuilt from the tree only when an error is thrown.
extension JSONTree {
    static func notJSON(_ error: JSONSyntaxError) -> DecodingError {
        .dataCorrupted(
            DecodingError.Context(
                codingPath: [],
                debugDescription: "The given data was not valid JSON.",
                underlyingError: error
            )
        )
    }

    /// The coding path from the root to `target`, as Foundation would have built it while descending.
    func codingPath(to target: Int) -> [any CodingKey] {
        var path: [any CodingKey] = []
        var current = 0
        while current != target, current < self.nodes.count {
            let node = self.nodes[current]
            var child = current + 1
            var found = false
            if node.kind == .object {
                for _ in 0..<node.count {
                    let value = child + 1
                    let after = Int(self.nodes[value].next)
                    if target >= value, target < after {
                        path.append(JSONKey(self.string(at: child)))
                        current = value
                        found = true
                        break
                    }
                    child = after
                }
            } else if node.kind == .array {
                for index in 0..<Int(node.count) {
                    let after = Int(self.nodes[child].next)
                    if target < after {
                        path.append(JSONKey(index: index))
                        current = child
                        found = true
                        break
                    }
                    child = after
                }
            }
            if !found { break }
        }
        return path
    }

    /// The value node of the first member of `object` named `name`, if any.
    func member(of object: Int, named name: String) -> Int? {
        var name = name
        return name.withUTF8 { wanted in
            self.nodes.withUnsafeBufferPointer { nodes in
                self.bytes.withUnsafeBufferPointer { bytes in
                    var child = object + 1
                    for _ in 0..<nodes[object].count {
                        let key = nodes[child]
                        let length = Int(key.end - key.start)
                        if key.flag {
                            if self.string(at: child) == String(decoding: wanted, as: UTF8.self) { return child + 1 }
                        } else if length == wanted.count {
                            // Member names are short: a plain loop beats a call to memcmp.
                            var offset = 0
                            let start = Int(key.start)
                            while offset < length, bytes[start + offset] == wanted[offset] { offset += 1 }
                            if offset == length { return child + 1 }
                        }
                        child = Int(nodes[child + 1].next)
                    }
                    return nil
                }
            }
        }
    }

    /// The error for a value of the wrong kind; Foundation reports a `null` as `valueNotFound`, except for `Bool`,
    /// where it is a `typeMismatch`.
    static func mismatch(_ type: Any.Type, found kind: JSONNode.Kind, at path: [any CodingKey]) -> DecodingError {
        if kind == .null, type != Bool.self {
            return .valueNotFound(
                type,
                DecodingError.Context(
                    codingPath: path,
                    debugDescription: "Cannot get value of type \(type) -- found null value instead"
                )
            )
        }
        return .typeMismatch(
            type,
            DecodingError.Context(
                codingPath: path,
                debugDescription: "Expected to decode \(type) but found \(kind.foundDescription) instead."
            )
        )
    }

    func readString(_ index: Int) throws -> String {
        let kind = self.nodes[index].kind
        guard kind == .string else { throw Self.mismatch(String.self, found: kind, at: self.codingPath(to: index)) }
        return self.string(at: index)
    }

    /// A timestamp parsed from the string's bytes, before any `String` is made.
    func readTime(_ index: Int) throws -> ObshellTime {
        let node = self.nodes[index]
        guard node.kind == .string else {
            throw Self.mismatch(String.self, found: node.kind, at: self.codingPath(to: index))
        }
        let text = self.string(at: index)
        let parsed = node.flag ? RFC3339Parser.parse(text) : self.withText(at: index) { RFC3339Parser.parse(bytes: $0) }
        guard let parsed else { throw ObshellTime.notATimestamp(text, codingPath: self.codingPath(to: index)) }
        return ObshellTime(text: text, parsed: parsed)
    }

    func readBool(_ index: Int) throws -> Bool {
        let node = self.nodes[index]
        guard node.kind == .bool else {
            throw Self.mismatch(Bool.self, found: node.kind, at: self.codingPath(to: index))
        }
        return node.flag
    }

    func readInteger<Value: FixedWidthInteger>(_ type: Value.Type, _ index: Int) throws -> Value {
        let node = self.nodes[index]
        guard node.kind == .number else {
            throw Self.mismatch(Value.self, found: node.kind, at: self.codingPath(to: index))
        }
        let value: Value? = self.withText(at: index) { text in
            if node.flag { return Self.integer(text) }
            // `1.0` and `1e2` are integers to Foundation too: read through a Double, exactly or not at all.
            guard let double = Double(String(decoding: text, as: UTF8.self)), double.isFinite else { return nil }
            return Value(exactly: double)
        }
        guard let value else { throw self.outOfRange(Value.self, index) }
        return value
    }

    func readFloat<Value: BinaryFloatingPoint & LosslessStringConvertible>(
        _ type: Value.Type,
        _ index: Int
    ) throws -> Value {
        let node = self.nodes[index]
        guard node.kind == .number else {
            throw Self.mismatch(Value.self, found: node.kind, at: self.codingPath(to: index))
        }
        let value: Value? = self.withText(at: index) { text in
            // Up to 15 digits are exact in a Double: skip the text conversion for the common small integers.
            if node.flag, text.count <= 15, let integer: Int64 = Self.integer(text) { return Value(integer) }
            return Value(String(decoding: text, as: UTF8.self))
        }
        // Foundation rejects what overflows to infinity and what underflows to zero; subnormals are kept.
        guard let value, value.isFinite, value != 0 || !self.hasNonzeroDigit(index) else {
            throw self.outOfRange(Value.self, index)
        }
        return value
    }

    /// Whether a number's significand has a digit other than zero.
    private func hasNonzeroDigit(_ index: Int) -> Bool {
        self.withText(at: index) { text in
            for byte in text {
                if byte | 0x20 == UInt8(ascii: "e") { return false }
                if byte >= UInt8(ascii: "1"), byte <= UInt8(ascii: "9") { return true }
            }
            return false
        }
    }

    /// Foundation reports a number that does not fit as invalid JSON at the top level; the detail goes underneath.
    private func outOfRange(_ type: Any.Type, _ index: Int) -> DecodingError {
        let text = self.withText(at: index) { String(decoding: $0, as: UTF8.self) }
        let path = ObshellDecoder.path(self.codingPath(to: index))
        return Self.notJSON(
            JSONSyntaxError(
                code: .numberOutOfRange,
                message: "the number \(text) at \(path) does not fit \(type)",
                offset: Int(self.nodes[index].start)
            )
        )
    }

    /// A plain integer's value, or `nil` when it does not fit.
    private static func integer<Value: FixedWidthInteger>(_ text: UnsafeBufferPointer<UInt8>) -> Value? {
        let negative = text.first == UInt8(ascii: "-")
        var magnitude: UInt64 = 0
        for byte in text.dropFirst(negative ? 1 : 0) {
            let (times, overflow) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, carry) = times.addingReportingOverflow(UInt64(byte &- UInt8(ascii: "0")))
            guard !overflow, !carry else { return nil }
            magnitude = sum
        }
        guard negative else { return Value(exactly: magnitude) }
        if magnitude == 0 { return 0 }
        guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
        return Value(exactly: magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude))
    }
}

/// Foundation's `Decoder` protocol over one node of a ``JSONTree``; also its own single-value container.
///
/// A struct of three words, so passing it as `any Decoder` allocates nothing.
struct JSONTreeDecoder: Decoder, SingleValueDecodingContainer {
    let tree: JSONTree
    let node: Int
    /// Only for the stand-in `null` of an absent key, whose path the tree cannot tell.
    let fixedPath: [any CodingKey]?

    var codingPath: [any CodingKey] { self.fixedPath ?? self.tree.codingPath(to: self.node) }

    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func decodeValue<Value: Decodable>(_ type: Value.Type) throws -> Value {
        // Shortcuts for the values every answer is made of; each ends exactly as its `init(from:)` would, errors
        // included, without the trip through a single-value container.
        if Value.self == String.self, let text = try self.checked(String.self, self.tree.readString) as? Value {
            return text
        }
        if Value.self == ObshellTime.self, let time = try self.checked(ObshellTime.self, self.tree.readTime) as? Value {
            return time
        }
        if Value.self == TaskState.self,
            let state = TaskState(rawValue: try self.checked(String.self, self.tree.readString)) as? Value
        {
            return state
        }
        if Value.self == TaskOperator.self,
            let state = TaskOperator(rawValue: try self.checked(String.self, self.tree.readString)) as? Value
        {
            return state
        }
        return try Value(from: self)
    }

    private func mismatch(_ type: Any.Type) -> DecodingError {
        JSONTree.mismatch(type, found: self.tree.nodes[self.node].kind, at: self.codingPath)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        switch self.tree.nodes[self.node].kind {
        case .object:
            return KeyedDecodingContainer(JSONKeyedContainer<Key>(tree: self.tree, node: self.node))
        case .null:
            throw DecodingError.valueNotFound(
                [String: Any].self,
                DecodingError.Context(
                    codingPath: self.codingPath,
                    debugDescription: "Cannot get keyed decoding container -- found null value instead"
                )
            )
        default:
            throw self.mismatch([String: Any].self)
        }
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        switch self.tree.nodes[self.node].kind {
        case .array:
            return JSONUnkeyedContainer(tree: self.tree, node: self.node)
        case .null:
            throw DecodingError.valueNotFound(
                [Any].self,
                DecodingError.Context(
                    codingPath: self.codingPath,
                    debugDescription: "Cannot get unkeyed decoding container -- found null value instead"
                )
            )
        default:
            throw self.mismatch([Any].self)
        }
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    func decodeNil() -> Bool { self.tree.nodes[self.node].kind == .null }

    private func checked<Value>(_ type: Value.Type, _ read: (Int) throws -> Value) throws -> Value {
        // An absent key's stand-in must name its own path, which the tree cannot rebuild.
        guard self.fixedPath == nil else { throw self.mismatch(Value.self) }
        return try read(self.node)
    }

    func decode(_ type: Bool.Type) throws -> Bool { try self.checked(type, self.tree.readBool) }
    func decode(_ type: String.Type) throws -> String { try self.checked(type, self.tree.readString) }
    func decode(_ type: Double.Type) throws -> Double { try self.checked(type) { try self.tree.readFloat(type, $0) } }
    func decode(_ type: Float.Type) throws -> Float { try self.checked(type) { try self.tree.readFloat(type, $0) } }
    func decode(_ type: Int.Type) throws -> Int { try self.checked(type) { try self.tree.readInteger(type, $0) } }
    func decode(_ type: Int8.Type) throws -> Int8 { try self.checked(type) { try self.tree.readInteger(type, $0) } }
    func decode(_ type: Int16.Type) throws -> Int16 { try self.checked(type) { try self.tree.readInteger(type, $0) } }
    func decode(_ type: Int32.Type) throws -> Int32 { try self.checked(type) { try self.tree.readInteger(type, $0) } }
    func decode(_ type: Int64.Type) throws -> Int64 { try self.checked(type) { try self.tree.readInteger(type, $0) } }
    func decode(_ type: UInt.Type) throws -> UInt { try self.checked(type) { try self.tree.readInteger(type, $0) } }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try self.checked(type) { try self.tree.readInteger(type, $0) } }
    func decode(_ type: UInt16.Type) throws -> UInt16 {
        try self.checked(type) { try self.tree.readInteger(type, $0) }
    }
    func decode(_ type: UInt32.Type) throws -> UInt32 {
        try self.checked(type) { try self.tree.readInteger(type, $0) }
    }
    func decode(_ type: UInt64.Type) throws -> UInt64 {
        try self.checked(type) { try self.tree.readInteger(type, $0) }
    }
    func decode<Value: Decodable>(_ type: Value.Type) throws -> Value { try self.decodeValue(type) }
}

/// An object's members, found by a linear scan of its keys: obshell's objects have a dozen members at most, and a
/// scan of lengths and bytes beats hashing every key.
struct JSONKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let tree: JSONTree
    let node: Int

    var codingPath: [any CodingKey] { self.tree.codingPath(to: self.node) }

    var allKeys: [Key] {
        var keys: [Key] = []
        var seen: Set<String> = []
        var child = self.node + 1
        for _ in 0..<self.tree.nodes[self.node].count {
            let name = self.tree.string(at: child)
            if seen.insert(name).inserted, let key = Key(stringValue: name) { keys.append(key) }
            child = Int(self.tree.nodes[child + 1].next)
        }
        return keys
    }

    func contains(_ key: Key) -> Bool { self.tree.member(of: self.node, named: key.stringValue) != nil }

    private func value(_ key: Key) throws -> Int {
        guard let index = self.tree.member(of: self.node, named: key.stringValue) else {
            throw DecodingError.keyNotFound(
                key,
                DecodingError.Context(
                    codingPath: self.codingPath,
                    debugDescription: "No value associated with key \(key) (\"\(key.stringValue)\")."
                )
            )
        }
        return index
    }

    /// The value of a present, non-null member.
    private func presentValue(_ key: Key) -> Int? {
        guard let index = self.tree.member(of: self.node, named: key.stringValue),
            self.tree.nodes[index].kind != .null
        else { return nil }
        return index
    }

    func decodeNil(forKey key: Key) throws -> Bool { self.tree.nodes[try self.value(key)].kind == .null }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try self.tree.readBool(try self.value(key)) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try self.tree.readString(try self.value(key))
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        try self.tree.readFloat(type, try self.value(key))
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        try self.tree.readFloat(type, try self.value(key))
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
        try self.tree.readInteger(type, try self.value(key))
    }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 {
        try self.tree.readInteger(type, try self.value(key))
    }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 {
        try self.tree.readInteger(type, try self.value(key))
    }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 {
        try self.tree.readInteger(type, try self.value(key))
    }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 {
        try self.tree.readInteger(type, try self.value(key))
    }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt {
        try self.tree.readInteger(type, try self.value(key))
    }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 {
        try self.tree.readInteger(type, try self.value(key))
    }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 {
        try self.tree.readInteger(type, try self.value(key))
    }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 {
        try self.tree.readInteger(type, try self.value(key))
    }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 {
        try self.tree.readInteger(type, try self.value(key))
    }
    func decode<Value: Decodable>(_ type: Value.Type, forKey key: Key) throws -> Value {
        try JSONTreeDecoder(tree: self.tree, node: try self.value(key), fixedPath: nil).decodeValue(type)
    }

    // One scan per optional member instead of the default `contains`, `decodeNil`, `decode` (three scans).
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        try self.presentValue(key).map(self.tree.readBool)
    }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        try self.presentValue(key).map(self.tree.readString)
    }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? {
        try self.presentValue(key).map { try self.tree.readFloat(type, $0) }
    }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? {
        try self.presentValue(key).map { try self.tree.readFloat(type, $0) }
    }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
        try self.presentValue(key).map { try self.tree.readInteger(type, $0) }
    }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? {
        try self.presentValue(key).map { try self.tree.readInteger(type, $0) }
    }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? {
        try self.presentValue(key).map { try self.tree.readInteger(type, $0) }
    }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? {
        try self.presentValue(key).map { try self.tree.readInteger(type, $0) }
    }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? {
        try self.presentValue(key).map { try self.tree.readInteger(type, $0) }
    }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? {
        try self.presentValue(key).map { try self.tree.readInteger(type, $0) }
    }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? {
        try self.presentValue(key).map { try self.tree.readInteger(type, $0) }
    }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? {
        try self.presentValue(key).map { try self.tree.readInteger(type, $0) }
    }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? {
        try self.presentValue(key).map { try self.tree.readInteger(type, $0) }
    }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? {
        try self.presentValue(key).map { try self.tree.readInteger(type, $0) }
    }
    func decodeIfPresent<Value: Decodable>(_ type: Value.Type, forKey key: Key) throws -> Value? {
        guard let index = self.presentValue(key) else { return nil }
        return try JSONTreeDecoder(tree: self.tree, node: index, fixedPath: nil).decodeValue(type)
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type,
        forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try JSONTreeDecoder(tree: self.tree, node: try self.value(key), fixedPath: nil).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try JSONTreeDecoder(tree: self.tree, node: try self.value(key), fixedPath: nil).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { self.superDecoder(named: JSONKey("super")) }

    func superDecoder(forKey key: Key) throws -> any Decoder { self.superDecoder(named: key) }

    /// A decoder for a member; an absent member reads as `null`, as in Foundation.
    private func superDecoder(named key: some CodingKey) -> any Decoder {
        if let index = self.tree.member(of: self.node, named: key.stringValue) {
            return JSONTreeDecoder(tree: self.tree, node: index, fixedPath: nil)
        }
        return JSONTreeDecoder(tree: self.tree, node: self.tree.absentNode, fixedPath: self.codingPath + [key])
    }
}

/// An array's elements in order; `next` steps over a whole element's subtree.
struct JSONUnkeyedContainer: UnkeyedDecodingContainer {
    let tree: JSONTree
    let node: Int
    private let total: Int
    private var element: Int
    private(set) var currentIndex = 0

    init(tree: JSONTree, node: Int) {
        self.tree = tree
        self.node = node
        self.total = Int(tree.nodes[node].count)
        self.element = node + 1
    }

    var codingPath: [any CodingKey] { self.tree.codingPath(to: self.node) }
    var count: Int? { self.total }
    var isAtEnd: Bool { self.currentIndex >= self.total }

    /// The current element, or Foundation's "at end" error.
    private func current(_ type: Any.Type, _ message: String = "Unkeyed container is at end.") throws -> Int {
        guard !self.isAtEnd else {
            throw DecodingError.valueNotFound(
                type,
                DecodingError.Context(
                    codingPath: self.codingPath + [JSONKey(index: self.currentIndex)],
                    debugDescription: message
                )
            )
        }
        return self.element
    }

    /// Reads the current element and moves on only if that worked, as Foundation does.
    private mutating func read<Value>(
        _ type: Value.Type,
        _ body: (JSONTree, Int) throws -> Value
    ) throws -> Value {
        let index = try self.current(type)
        let value = try body(self.tree, index)
        self.element = Int(self.tree.nodes[index].next)
        self.currentIndex += 1
        return value
    }

    mutating func decodeNil() throws -> Bool {
        let index = try self.current((any Sendable)?.self)
        guard self.tree.nodes[index].kind == .null else { return false }
        self.element = index + 1
        self.currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try self.read(type) { try $0.readBool($1) } }
    mutating func decode(_ type: String.Type) throws -> String { try self.read(type) { try $0.readString($1) } }
    mutating func decode(_ type: Double.Type) throws -> Double {
        try self.read(type) { try $0.readFloat(type, $1) }
    }
    mutating func decode(_ type: Float.Type) throws -> Float {
        try self.read(type) { try $0.readFloat(type, $1) }
    }
    mutating func decode(_ type: Int.Type) throws -> Int { try self.read(type) { try $0.readInteger(type, $1) } }
    mutating func decode(_ type: Int8.Type) throws -> Int8 {
        try self.read(type) { try $0.readInteger(type, $1) }
    }
    mutating func decode(_ type: Int16.Type) throws -> Int16 {
        try self.read(type) { try $0.readInteger(type, $1) }
    }
    mutating func decode(_ type: Int32.Type) throws -> Int32 {
        try self.read(type) { try $0.readInteger(type, $1) }
    }
    mutating func decode(_ type: Int64.Type) throws -> Int64 {
        try self.read(type) { try $0.readInteger(type, $1) }
    }
    mutating func decode(_ type: UInt.Type) throws -> UInt {
        try self.read(type) { try $0.readInteger(type, $1) }
    }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 {
        try self.read(type) { try $0.readInteger(type, $1) }
    }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 {
        try self.read(type) { try $0.readInteger(type, $1) }
    }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 {
        try self.read(type) { try $0.readInteger(type, $1) }
    }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 {
        try self.read(type) { try $0.readInteger(type, $1) }
    }
    mutating func decode<Value: Decodable>(_ type: Value.Type) throws -> Value {
        try self.read(type) { try JSONTreeDecoder(tree: $0, node: $1, fixedPath: nil).decodeValue(type) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try self.read(KeyedDecodingContainer<NestedKey>.self) {
            try JSONTreeDecoder(tree: $0, node: $1, fixedPath: nil).container(keyedBy: type)
        }
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try self.read((any UnkeyedDecodingContainer).self) {
            try JSONTreeDecoder(tree: $0, node: $1, fixedPath: nil).unkeyedContainer()
        }
    }

    mutating func superDecoder() throws -> any Decoder {
        let index = try self.current(
            (any Decoder).self,
            "Cannot get superDecoder() -- unkeyed container is at end."
        )
        self.element = Int(self.tree.nodes[index].next)
        self.currentIndex += 1
        return JSONTreeDecoder(tree: self.tree, node: index, fixedPath: nil)
    }
}
