import Foundation

/// SplitMix64: a small, fast, well-mixed generator; the same seed always gives the same cases, so a failure
/// printed with its seed and case number can be replayed exactly.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        self.state = seed
    }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = self.state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    /// A number in `0..<bound` (`bound` > 0).
    mutating func below(_ bound: Int) -> Int {
        Int(self.next() % UInt64(max(bound, 1)))
    }

    /// One of the elements (the array is not empty).
    mutating func pick<Element>(_ elements: [Element]) -> Element {
        elements[self.below(elements.count)]
    }

    /// True with probability `numerator / denominator`.
    mutating func chance(_ numerator: Int, in denominator: Int) -> Bool {
        self.below(denominator) < numerator
    }
}

/// A JSON document as a tree that keeps number text and member order, so a mutation can write what no encoder
/// would (`1e400`, a 30-digit integer, a duplicated key) and everything else comes back as it was.
indirect enum FuzzJSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([FuzzJSON])
    case object([(String, FuzzJSON)])

    static func == (lhs: FuzzJSON, rhs: FuzzJSON) -> Bool {
        lhs.text == rhs.text
    }

    /// Compact JSON text.
    var text: String {
        var output = ""
        self.write(to: &output)
        return output
    }

    var data: Data { Data(self.text.utf8) }

    private func write(to output: inout String) {
        switch self {
        case .null: output += "null"
        case .bool(let value): output += value ? "true" : "false"
        case .number(let text): output += text
        case .string(let value): Self.writeString(value, to: &output)
        case .array(let elements):
            output += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { output += "," }
                element.write(to: &output)
            }
            output += "]"
        case .object(let members):
            output += "{"
            for (index, member) in members.enumerated() {
                if index > 0 { output += "," }
                Self.writeString(member.0, to: &output)
                output += ":"
                member.1.write(to: &output)
            }
            output += "}"
        }
    }

    private static func writeString(_ value: String, to output: inout String) {
        output += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            default:
                if scalar.value < 0x20 {
                    output +=
                        "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                        + String(scalar.value, radix: 16)
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        output += "\""
    }

    /// Parses JSON text; `nil` when it is not JSON (only well-formed seeds are parsed).
    static func parse(_ data: Data) -> FuzzJSON? {
        var parser = FuzzJSONParser(bytes: Array(data))
        guard let value = parser.value() else { return nil }
        parser.skipSpace()
        return parser.index == parser.bytes.count ? value : nil
    }

    /// Every position in the tree, as the index path to it (member or element positions).
    func paths(prefix: [Int] = [], into result: inout [[Int]]) {
        result.append(prefix)
        switch self {
        case .array(let elements):
            for (index, element) in elements.enumerated() { element.paths(prefix: prefix + [index], into: &result) }
        case .object(let members):
            for (index, member) in members.enumerated() { member.1.paths(prefix: prefix + [index], into: &result) }
        default: break
        }
    }

    /// Every position in the tree.
    var allPaths: [[Int]] {
        var result: [[Int]] = []
        self.paths(into: &result)
        return result
    }

    /// The value at a path.
    func value(at path: [Int]) -> FuzzJSON? {
        guard let first = path.first else { return self }
        switch self {
        case .array(let elements) where first < elements.count:
            return elements[first].value(at: Array(path.dropFirst()))
        case .object(let members) where first < members.count:
            return members[first].1.value(at: Array(path.dropFirst()))
        default: return nil
        }
    }

    /// The tree with the value at `path` replaced by what `change` makes of it.
    func replacing(at path: [Int], _ change: (FuzzJSON) -> FuzzJSON) -> FuzzJSON {
        guard let first = path.first else { return change(self) }
        let rest = Array(path.dropFirst())
        switch self {
        case .array(var elements) where first < elements.count:
            elements[first] = elements[first].replacing(at: rest, change)
            return .array(elements)
        case .object(var members) where first < members.count:
            members[first].1 = members[first].1.replacing(at: rest, change)
            return .object(members)
        default: return self
        }
    }

    /// A member of an object by key.
    subscript(key: String) -> FuzzJSON? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }
}

/// A strict recursive-descent reader for the seeds.
private struct FuzzJSONParser {
    let bytes: [UInt8]
    var index = 0

    mutating func skipSpace() {
        while self.index < self.bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(self.bytes[self.index]) {
            self.index += 1
        }
    }

    mutating func value() -> FuzzJSON? {
        self.skipSpace()
        guard self.index < self.bytes.count else { return nil }
        switch self.bytes[self.index] {
        case UInt8(ascii: "{"): return self.object()
        case UInt8(ascii: "["): return self.array()
        case UInt8(ascii: "\""): return self.string().map(FuzzJSON.string)
        case UInt8(ascii: "t"): return self.literal("true", .bool(true))
        case UInt8(ascii: "f"): return self.literal("false", .bool(false))
        case UInt8(ascii: "n"): return self.literal("null", .null)
        default: return self.number()
        }
    }

    private mutating func literal(_ word: String, _ value: FuzzJSON) -> FuzzJSON? {
        let expected = Array(word.utf8)
        guard self.index + expected.count <= self.bytes.count,
            Array(self.bytes[self.index..<(self.index + expected.count)]) == expected
        else { return nil }
        self.index += expected.count
        return value
    }

    private mutating func number() -> FuzzJSON? {
        let start = self.index
        while self.index < self.bytes.count, "+-0123456789.eE".utf8.contains(self.bytes[self.index]) {
            self.index += 1
        }
        guard self.index > start else { return nil }
        return .number(String(decoding: self.bytes[start..<self.index], as: UTF8.self))
    }

    private mutating func string() -> String? {
        self.index += 1
        var scalars = String.UnicodeScalarView()
        var raw: [UInt8] = []
        func flush() {
            scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars)
            raw.removeAll()
        }
        while self.index < self.bytes.count {
            let byte = self.bytes[self.index]
            self.index += 1
            if byte == UInt8(ascii: "\"") {
                flush()
                return String(scalars)
            }
            guard byte == UInt8(ascii: "\\") else {
                raw.append(byte)
                continue
            }
            flush()
            guard self.index < self.bytes.count else { return nil }
            let escape = self.bytes[self.index]
            self.index += 1
            switch escape {
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "b"): scalars.append("\u{8}")
            case UInt8(ascii: "f"): scalars.append("\u{C}")
            case UInt8(ascii: "u"):
                guard self.index + 4 <= self.bytes.count,
                    let code = UInt32(
                        String(decoding: self.bytes[self.index..<(self.index + 4)], as: UTF8.self),
                        radix: 16
                    )
                else { return nil }
                self.index += 4
                scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
            default: scalars.append(Unicode.Scalar(escape))
            }
        }
        return nil
    }

    private mutating func array() -> FuzzJSON? {
        self.index += 1
        var elements: [FuzzJSON] = []
        self.skipSpace()
        if self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "]") {
            self.index += 1
            return .array(elements)
        }
        while true {
            guard let element = self.value() else { return nil }
            elements.append(element)
            self.skipSpace()
            guard self.index < self.bytes.count else { return nil }
            let byte = self.bytes[self.index]
            self.index += 1
            if byte == UInt8(ascii: "]") { return .array(elements) }
            guard byte == UInt8(ascii: ",") else { return nil }
        }
    }

    private mutating func object() -> FuzzJSON? {
        self.index += 1
        var members: [(String, FuzzJSON)] = []
        self.skipSpace()
        if self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "}") {
            self.index += 1
            return .object(members)
        }
        while true {
            self.skipSpace()
            guard self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "\""), let key = self.string()
            else { return nil }
            self.skipSpace()
            guard self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: ":") else { return nil }
            self.index += 1
            guard let value = self.value() else { return nil }
            members.append((key, value))
            self.skipSpace()
            guard self.index < self.bytes.count else { return nil }
            let byte = self.bytes[self.index]
            self.index += 1
            if byte == UInt8(ascii: "}") { return .object(members) }
            guard byte == UInt8(ascii: ",") else { return nil }
        }
    }
}

/// Byte-level and structure-level mutations of a JSON document.
enum Mutator {
    /// One mutated document and what was done, for the failure message.
    struct Mutation {
        var data: Data
        var description: String
    }

    static let invalidUTF8: [[UInt8]] = [
        [0xFF], [0xC0, 0x80], [0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0xFE, 0xFF],
    ]
    static let hugeNumbers = [
        "1e400", "-1e400", "99999999999999999999999999999", "-9223372036854775809", "9223372036854775808",
        "1.5", "-0", "1E+2", "0.0000001", "2147483648", "-2147483649", "1e-400", "123456789012345678901234567890e-10",
    ]
    static let oddStrings = [
        "EXPLODED", "", "running", "SUCCEED ", "FAILED\u{0}", "RUN\r\n", String(repeating: "Z", count: 10_000),
        "2024-13-45T99:99:99+25:00", "\u{202E}RUNNING", "null", "0",
    ]

    /// One mutation of `seed`; `paths` are the seed's own (``FuzzJSON/allPaths``), computed once per seed.
    static func mutate(_ seed: FuzzJSON, paths: [[Int]], _ random: inout SplitMix64) -> Mutation {
        if random.chance(1, in: 2) {
            return self.structural(seed, paths: paths, &random)
        }
        return self.bytes(seed.data, &random)
    }

    /// Flips, cuts, deletes, duplicates or inserts bytes (invalid UTF-8 among them).
    static func bytes(_ original: Data, _ random: inout SplitMix64) -> Mutation {
        var bytes = Array(original)
        var notes: [String] = []
        for _ in 0..<(1 + random.below(3)) {
            guard !bytes.isEmpty else { break }
            let position = random.below(bytes.count)
            switch random.below(6) {
            case 0:
                let bit = UInt8(1) << UInt8(random.below(8))
                bytes[position] ^= bit
                notes.append("flip bit \(bit) at \(position)")
            case 1:
                bytes.removeSubrange(position...)
                notes.append("truncate at \(position)")
            case 2:
                let length = min(bytes.count - position, 1 + random.below(64))
                bytes.removeSubrange(position..<(position + length))
                notes.append("delete \(length) at \(position)")
            case 3:
                let length = min(bytes.count - position, 1 + random.below(256))
                bytes.insert(contentsOf: bytes[position..<(position + length)], at: position)
                notes.append("duplicate \(length) at \(position)")
            case 4:
                let insert = random.pick(Self.invalidUTF8)
                bytes.insert(contentsOf: insert, at: position)
                notes.append("invalid UTF-8 \(insert) at \(position)")
            default:
                let byte = random.pick(Array("{}[]\",:\\0-e.".utf8) + [0, 0x0A, 0x0D])
                bytes[position] = byte
                notes.append("set \(byte) at \(position)")
            }
        }
        return Mutation(data: Data(bytes), description: "bytes: " + notes.joined(separator: "; "))
    }

    /// Changes one value of the tree: a type swap, an odd number or string, deep nesting, a lost or doubled key.
    static func structural(_ seed: FuzzJSON, paths: [[Int]], _ random: inout SplitMix64) -> Mutation {
        var tree = seed
        var notes: [String] = []
        for _ in 0..<(1 + random.below(3)) {
            let path = random.pick(paths)
            guard let current = tree.value(at: path) else { continue }
            let replacement: FuzzJSON
            let note: String
            switch random.below(9) {
            case 0:
                replacement = random.pick([.null, .bool(true), .number("7"), .string("7"), .array([]), .object([])])
                note = "type swap"
            case 1:
                replacement = .number(random.pick(Self.hugeNumbers))
                note = "number"
            case 2:
                replacement = .string(random.pick(Self.oddStrings))
                note = "string"
            case 3:
                let depth = random.pick([2, 50, 400, 600, 2_000])
                var nested = current
                for _ in 0..<depth { nested = .array([nested]) }
                replacement = nested
                note = "nest \(depth)"
            case 4:
                if case .object(var members) = current, !members.isEmpty {
                    members.remove(at: random.below(members.count))
                    replacement = .object(members)
                } else {
                    replacement = .null
                }
                note = "delete key"
            case 5:
                if case .object(var members) = current, !members.isEmpty {
                    let member = members[random.below(members.count)]
                    members.append((member.0, random.pick([.null, .string("x"), .number("-1"), .array([])])))
                    replacement = .object(members)
                } else {
                    replacement = current
                }
                note = "duplicate key"
            case 6:
                if case .array(let elements) = current, let first = elements.first {
                    replacement = .array(elements + Array(repeating: first, count: 1 + random.below(100)))
                } else {
                    replacement = .array([current, current])
                }
                note = "repeat element"
            case 7:
                if case .array(let elements) = current {
                    replacement = .array(elements.reversed())
                } else {
                    replacement = .number(random.pick(["0", "-1", "1"]))
                }
                note = "reverse or small number"
            default:
                replacement = .string(
                    random.pick(Self.oddStrings) + String(repeating: "\u{0}\r\n", count: random.below(3))
                )
                note = "string with controls"
            }
            tree = tree.replacing(at: path, { _ in replacement })
            notes.append("\(note) at \(path)")
        }
        return Mutation(data: tree.data, description: "structure: " + notes.joined(separator: "; "))
    }
}
