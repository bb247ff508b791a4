import Foundation
import Testing

@testable import ObshellModel

/// Differential tests: ``FastJSONDecoder`` against Foundation's `JSONDecoder` on the same inputs. Every case must
/// either decode to equal values with both, or fail with both with the same error case, path and ObshellError
/// message. The few places where the readers differ on purpose are tested as such, at the end.
@Suite("FastJSONDecoder against Foundation's JSONDecoder")
struct FastJSONTests {
    // MARK: - The oracle

    /// What a decoder made of an input: a value, or its error reduced to what obwatch shows.
    enum Outcome<Value: Equatable>: Equatable, CustomStringConvertible {
        case value(Value)
        case failure(String)

        var description: String {
            switch self {
            case .value(let value): "value \(value)"
            case .failure(let text): "failure \(text)"
            }
        }

        var isFailure: Bool {
            if case .failure = self { return true }
            return false
        }
    }

    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "not a DecodingError: \(error)" }
        let name =
            switch error {
            case .typeMismatch: "typeMismatch"
            case .valueNotFound: "valueNotFound"
            case .keyNotFound: "keyNotFound"
            case .dataCorrupted: "dataCorrupted"
            @unknown default: "unknown"
            }
        return name + " " + ObshellError.undecodable(error).message
    }

    static func outcomes<Value: Decodable, Compared: Equatable>(
        _ type: Value.Type,
        _ data: Data,
        _ project: (Value) -> Compared
    ) -> (fast: Outcome<Compared>, foundation: Outcome<Compared>) {
        let fast: Outcome<Compared>
        do {
            fast = .value(project(try FastJSONDecoder().decode(type, from: data)))
        } catch {
            fast = .failure(Self.describe(error))
        }
        let foundation: Outcome<Compared>
        do {
            foundation = .value(project(try JSONDecoder().decode(type, from: data)))
        } catch {
            foundation = .failure(Self.describe(error))
        }
        return (fast, foundation)
    }

    /// Expects both decoders to agree; returns whether the input decoded.
    @discardableResult
    static func expectSame<Value: Decodable & Equatable>(
        _ type: Value.Type,
        _ data: Data,
        _ label: @autoclosure () -> String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> Bool {
        let (fast, foundation) = Self.outcomes(type, data) { $0 }
        #expect(fast == foundation, "\(label())", sourceLocation: sourceLocation)
        return !fast.isFailure
    }

    static func expectSameAnswer(_ data: Data, _ label: @autoclosure () -> String) -> Bool {
        let (fast, foundation) = Self.outcomes(Envelope<ContentList<Dag>>.self, data, AnswerSnapshot.init)
        #expect(fast == foundation, "\(label())")
        return !fast.isFailure
    }

    /// The parts of a list answer that matter, with free-form objects in key order (Foundation's `allKeys` is in
    /// hash order, ours in document order).
    struct AnswerSnapshot: Equatable {
        var successful: Bool
        var timestamp: ObshellTime?
        var duration: Int?
        var status: Int?
        var traceID: String?
        var error: APIError?
        var dags: [Dag]?

        init(_ envelope: Envelope<ContentList<Dag>>) {
            self.successful = envelope.successful
            self.timestamp = envelope.timestamp
            self.duration = envelope.duration
            self.status = envelope.status
            self.traceID = envelope.traceID
            self.error = envelope.error
            self.dags = envelope.data?.contents.map { dag in
                var dag = dag
                dag.additionalData = dag.additionalData.map(sorted)
                dag.nodes = dag.nodes?.map { node in
                    var node = node
                    node.additionalData = node.additionalData.map(sorted)
                    node.subTasks = node.subTasks.map { task in
                        var task = task
                        task.additionalData = task.additionalData.map(sorted)
                        return task
                    }
                    return node
                }
                return dag
            }
        }
    }

    static func fixture() throws -> Data {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/unfinish-scale-out.json", withExtension: nil))
        return try Data(contentsOf: url)
    }

    // MARK: - The seed answer and mutations of it

    @Test("the seed answer decodes to the same envelope, DAGs, times and raw JSON")
    func seedAnswer() throws {
        let data = try Self.fixture()
        #expect(Self.expectSameAnswer(data, "seed"))
        let (fast, foundation) = Self.outcomes(JSONValue.self, data, sorted)
        #expect(fast == foundation)
        let envelope = try ObshellDecoder.envelope(ContentList<Dag>.self, from: data)
        #expect(envelope.timestamp?.text == "2024-01-10T11:34:32.520371417+08:00")
        #expect(envelope.timestamp?.nanoseconds == 520_371_417)
    }

    @Test("every value of the seed replaced by every other kind: same DAGs or the same error, path and message")
    func mutatedSeed() throws {
        let document = try #require(Document(try FastJSONDecoder().decode(JSONValue.self, from: try Self.fixture())))
        let replacements: [Document?] = [
            .null, .string("x"), .string("2024-01-10T11:34:32Z"), .number("1.5"), .number("-1"), .number("1.0"),
            .number("99999999999999999999"), .number("7"), .bool(true), .array([]), .object([]), nil,
        ]
        var decoded = 0
        var failed = 0
        for (number, path) in document.paths.enumerated() {
            // Three replacements per path, rotating, keep the test quick while covering every pair over the paths.
            for offset in 0..<3 {
                let replacement = replacements[(number * 3 + offset) % replacements.count]
                let mutated = document.replacing(at: path[...], with: replacement)
                let text = mutated?.text ?? "null"
                if Self.expectSameAnswer(Data(text.utf8), "\(path) := \(replacement?.text ?? "(deleted)")") {
                    decoded += 1
                } else {
                    failed += 1
                }
            }
        }
        #expect(decoded > 50 && failed > 50, "\(decoded) decoded, \(failed) failed")
    }

    // MARK: - Generated documents

    @Test("generated documents read as JSONValue, [String: JSONValue] and [JSONValue]", arguments: [1, 2, 3, 4])
    func generatedDocuments(seed: UInt64) {
        var random = Random(seed: seed)
        for number in 0..<150 {
            let document = Document.random(&random, depth: 0)
            let text = document.render(&random)
            let data = Data(text.utf8)
            let (fast, foundation) = Self.outcomes(JSONValue.self, data, sorted)
            #expect(fast == foundation, "seed \(seed) document \(number): \(text)")
            #expect(!fast.isFailure, "seed \(seed) document \(number): \(text)")
            let (fastObject, foundationObject) = Self.outcomes([String: JSONValue].self, data) { $0.mapValues(sorted) }
            #expect(fastObject == foundationObject, "seed \(seed) document \(number) as an object")
            let (fastArray, foundationArray) = Self.outcomes([JSONValue].self, data) { $0.map(sorted) }
            #expect(fastArray == foundationArray, "seed \(seed) document \(number) as an array")
        }
    }

    // MARK: - Malformed input

    static let malformed: [String] = [
        "", " ", "x", "nul", "tru", "falsey", "nulltrue", "[", "]", "{", "}", "[1", "[1 2]", "{\"a\"}", "{\"a\" 1}",
        "{\"a\":}", "{a:1}", "{'a':1}", "[1,,2]", "[,]", "{,}", "{\"a\":1,,\"b\":2}", "1 2", "[] []", "{}x", "01",
        "-01", "00", "1.", ".5", "-", "+1", "1e", "1e+", "1.e5", "0x10", "Infinity", "NaN", "-Infinity", "\"abc",
        "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\udc00\\ud800\"", "\"\\ud800x\"",
        "\"a\tb\"", "\"a\nb\"", "\"\u{0001}\"", "[\"a\"\"b\"]", "\u{FEFF}\u{FEFF}1", "[1]\u{0000}", "/* */ 1",
        "[1] // c", "'a'", "[\"\\\"]",
    ]

    static let malformedBytes: [[UInt8]] = [
        [0x22, 0xFF, 0x22], [0x22, 0xC3, 0x28, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xC0, 0xAF, 0x22],
        [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0x22, 0xE2, 0x82, 0x22], [0x22, 0xE0, 0x80, 0x80, 0x22],
        [0x22, 0xF0, 0x80, 0x80, 0x80, 0x22], [0x22, 0xF8, 0x88, 0x80, 0x80, 0x80, 0x22], [0x22, 0x80, 0x22],
        [0x22, 0xC3], [0xFE, 0xFF, 0x31],
    ]

    @Test("malformed documents are rejected by both, as 'the body is not JSON'", arguments: Self.malformed)
    func malformedText(text: String) {
        Self.expectRejectedByBoth(Data(text.utf8), text.debugDescription)
    }

    @Test("bytes that are not UTF-8 inside strings are rejected by both")
    func malformedUTF8() {
        for bytes in Self.malformedBytes { Self.expectRejectedByBoth(Data(bytes), "\(bytes)") }
    }

    /// Foundation checks a number's syntax only when it converts it, so a bad top-level number fails there as
    /// "not a string" (JSONValue's last attempt) instead of "not JSON"; it still fails.
    static let lazilyChecked: Set<String> = ["01", "-01", "00", "1.", "-", "1e", "1e+", "1.e5"]

    static func expectRejectedByBoth(_ data: Data, _ label: String) {
        let (fast, foundation) = Self.outcomes(JSONValue.self, data) { $0 }
        #expect(foundation.isFailure, "\(label)")
        if !Self.lazilyChecked.contains(String(decoding: data, as: UTF8.self)) {
            #expect(fast == foundation, "\(label)")
        }
        #expect(fast == .failure("dataCorrupted the body is not JSON"), "\(label)")
        #expect(throws: ObshellError.self, "\(label)") {
            try ObshellDecoder.envelope(ContentList<Dag>.self, from: data)
        }
    }

    @Test("a syntax error carries its reason and byte offset underneath Foundation's message")
    func syntaxErrorDetail() throws {
        do {
            _ = try FastJSONDecoder().decode(JSONValue.self, from: Data(#"{"a": [1, 2,, 3]}"#.utf8))
            Issue.record("a double comma was accepted")
        } catch DecodingError.dataCorrupted(let context) {
            #expect(context.debugDescription == "The given data was not valid JSON.")
            let underlying = try #require(context.underlyingError as? JSONSyntaxError)
            #expect(underlying.code == .invalidSyntax)
            #expect(underlying.offset == 12)
        }
    }

    // MARK: - Strings

    @Test("escapes, surrogate pairs, U+2028, raw UTF-8 and empty strings read the same")
    func strings() throws {
        let texts = [
            #""""#, #""plain""#, #""\"\\\/\b\f\n\r\t""#, #""\u0000\u001f\u007f""#, #""\u00e9\u4e2d\uFFFF""#,
            #""\ud83d\ude00 \uD834\uDD1E""#, "\"\u{2028}\u{2029}\"", "\"é中😀\"", #""a\u0022b""#,
            "\"\(String(repeating: "long ascii text ", count: 40))\"", #""\r\n""#, "\"\u{7F}\"",
        ]
        for text in texts {
            #expect(Self.expectSame(String.self, Data(text.utf8), text), "\(text)")
        }
        #expect(try FastJSONDecoder().decode(String.self, from: Data(#""\ud83d\ude00""#.utf8)) == "😀")
    }

    @Test("escaped member names are found, and a leading byte order mark is skipped")
    func escapedKeys() {
        Self.expectSame([String: Int].self, Data(#"{"k\u00e9":1,"\u0041":2,"tab\t":3}"#.utf8), "escaped keys")
        struct Named: Decodable, Equatable {
            var name: String
        }
        #expect(Self.expectSame(Named.self, Data(#"{"n\u0061me":"x"}"#.utf8), "an escaped name"))
        #expect(Self.expectSame(String.self, Data("\u{FEFF}\"x\"".utf8), "a byte order mark"))
    }

    // MARK: - Numbers

    static let numbers = [
        "0", "-0", "1", "-1", "42", "1.0", "1.5", "-1.5", "1e2", "1E+2", "1.0e0", "2.5e-1", "1e-400", "1e400", "-1e400",
        "127", "128", "-128", "-129", "255", "256", "32767", "65536", "2147483647", "2147483648", "-2147483649",
        "4294967296", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
        "18446744073709551615", "18446744073709551616", "123456789012345678901234567890", "1e20", "0.1", "3.4e39",
        "1.7976931348623157e308", "5e-324", "9007199254740993",
    ]

    @Test("every number asked as every type: the same value, or the same top-level error", arguments: Self.numbers)
    func numbersAsEveryType(text: String) {
        let data = Data("[\(text)]".utf8)
        Self.expectSame([Int].self, data, "\(text) as Int")
        Self.expectSame([Int8].self, data, "\(text) as Int8")
        Self.expectSame([Int32].self, data, "\(text) as Int32")
        Self.expectSame([Int64].self, data, "\(text) as Int64")
        Self.expectSame([UInt].self, data, "\(text) as UInt")
        Self.expectSame([UInt8].self, data, "\(text) as UInt8")
        Self.expectSame([UInt64].self, data, "\(text) as UInt64")
        Self.expectSame([Double].self, data, "\(text) as Double")
        Self.expectSame([Float].self, data, "\(text) as Float")
        Self.expectSame([String].self, data, "\(text) as String")
        Self.expectSame([Bool].self, data, "\(text) as Bool")
    }

    @Test("a number that does not fit is 'not JSON' at the top level, as in Foundation, with the detail underneath")
    func numberOutOfRangeDetail() throws {
        do {
            _ = try FastJSONDecoder().decode([String: UInt8].self, from: Data(#"{"a": 300}"#.utf8))
            Issue.record("300 was read as a UInt8")
        } catch DecodingError.dataCorrupted(let context) {
            #expect(context.codingPath.isEmpty)
            let underlying = try #require(context.underlyingError as? JSONSyntaxError)
            #expect(underlying.code == .numberOutOfRange)
            #expect(underlying.message.contains("300 at a does not fit UInt8"))
        }
    }

    // MARK: - Nesting, empties, duplicates

    /// Reads any value without keeping it, so only the parser's depth limit is tested.
    struct Skipped: Decodable, Equatable {
        init(from decoder: any Decoder) throws {
            if var array = try? decoder.unkeyedContainer() {
                while !array.isAtEnd { _ = try array.decode(Skipped.self) }
            }
        }
    }

    @Test("512 nested arrays are read, 513 and 2,000 are rejected without overflowing the stack")
    func deepNesting() {
        for depth in [1, 100, 511, 512, 513, 2_000, 100_000] {
            let data = Data((String(repeating: "[", count: depth) + String(repeating: "]", count: depth)).utf8)
            let accepted = Self.expectSame(Skipped.self, data, "\(depth) deep")
            #expect(accepted == (depth <= 512), "\(depth) deep")
        }
        let objects = String(repeating: "{\"a\":", count: 2_000) + "1" + String(repeating: "}", count: 2_000)
        #expect(throws: DecodingError.self) { try FastJSONDecoder().decode(Skipped.self, from: Data(objects.utf8)) }
        let unclosed = Data(String(repeating: "[", count: 2_000).utf8)
        #expect(throws: DecodingError.self) { try FastJSONDecoder().decode(Skipped.self, from: unclosed) }
    }

    @Test("empty containers and empty answers")
    func emptyContainers() {
        Self.expectSame([Int].self, Data("[]".utf8), "[]")
        Self.expectSame([String: Int].self, Data("{}".utf8), "{}")
        Self.expectSame([[Int]].self, Data("[[],[[]]]".utf8), "nested empties")
        Self.expectSame([String: [Int]].self, Data(#"{"":[]," ":[ ]}"#.utf8), "empty names")
        for answer in [
            #"{"successful":true,"data":{"contents":[]}}"#, #"{"successful":true,"data":{"contents":null}}"#,
            #"{"successful":true,"data":{}}"#, #"{"successful":true}"#, #"{"successful":false,"data":[]}"#,
            #"{"successful":true,"data":[]}"#, #"{}"#, #"[]"#, #""text""#, "null",
        ] {
            _ = Self.expectSameAnswer(Data(answer.utf8), answer)
        }
    }

    @Test("a repeated key: the first value is decoded by both; allKeys lists it once, in document order here")
    func duplicateKeys() throws {
        struct One: Decodable, Equatable {
            var value: Int
        }
        let data = Data(#"{"value":1,"value":2}"#.utf8)
        Self.expectSame(One.self, data, "duplicate")
        #expect(try FastJSONDecoder().decode(One.self, from: data).value == 1)
        let value = try FastJSONDecoder().decode(JSONValue.self, from: Data(#"{"b":1,"a":2,"b":3,"c":4}"#.utf8))
        #expect(value == .object([("b", .integer(1)), ("a", .integer(2)), ("c", .integer(4))]))
    }

    // MARK: - The Decoder protocol, call by call

    @Test("every container call gives the same results and errors as Foundation's")
    func containerCalls() throws {
        let data = Data(
            #"""
            {"n":null,"s":"x","o":{"p":1,"q":[true]},"a":[1,2],"e":[],"m":[null,3],"b":false,"f":2.5,
             "big":123456789012345678901234567890,"list":[{"x":1},{"y":2}]}
            """#.utf8
        )
        let fast = try FastJSONDecoder().decode(Probe.self, from: data)
        let foundation = try JSONDecoder().decode(Probe.self, from: data)
        #expect(fast.log.count == foundation.log.count)
        for (mine, theirs) in zip(fast.log, foundation.log) {
            // Foundation throws its private JSONError for a number that does not fit, and wraps it as "not valid
            // JSON" only at the top level; we throw that DecodingError straight away.
            if theirs.contains("not a DecodingError: numberIsNotRepresentableInSwift") {
                #expect(mine.hasSuffix("dataCorrupted the body is not JSON"), "\(mine)")
            } else {
                #expect(mine == theirs)
            }
        }
    }

    @Test("array indices in coding paths are Foundation's: intValue N, stringValue \"Index N\"")
    func indexKeys() throws {
        do {
            _ = try FastJSONDecoder().decode([[Int]].self, from: Data("[[1],[2,\"x\"]]".utf8))
            Issue.record("a string was read as an Int")
        } catch DecodingError.typeMismatch(_, let context) {
            #expect(context.codingPath.map(\.intValue) == [1, 1])
            #expect(context.codingPath.map(\.stringValue) == ["Index 1", "Index 1"])
        }
    }

    @Test("envelope(nestedIn:) over our decoder: errors start at the envelope, as when decoded alone")
    func nestedEnvelope() throws {
        struct Line: Decodable {
            var result: Result<Envelope<ContentList<Dag>>, ObshellError>
            var missing: Bool
            enum CodingKeys: String, CodingKey { case body, absent }
            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                self.result = ObshellDecoder.envelope(
                    ContentList<Dag>.self,
                    nestedIn: try container.superDecoder(forKey: .body)
                )
                self.missing = try container.superDecoder(forKey: .absent).singleValueContainer().decodeNil()
            }
        }
        let bad = #"{"body":{"successful":true,"data":{"contents":[{"id":"1","name":"n","stage":1}]}}}"#
        let fast = try FastJSONDecoder().decode(Line.self, from: Data(bad.utf8))
        let foundation = try JSONDecoder().decode(Line.self, from: Data(bad.utf8))
        #expect(fast.missing && foundation.missing)
        let fastError = try #require(fast.result.failureValue)
        #expect(fastError == foundation.result.failureValue)
        #expect(fastError.message == #"at data.contents[0]: missing key "max_stage""#)
        let text = #"{"body":"<html>"}"#
        let fastText = try FastJSONDecoder().decode(Line.self, from: Data(text.utf8))
        #expect(fastText.result.failureValue?.path == "(top level)")
        #expect(
            fastText.result.failureValue
                == (try JSONDecoder().decode(Line.self, from: Data(text.utf8))).result.failureValue
        )
    }

    // MARK: - Where the two readers differ on purpose

    @Test("strictness Foundation lacks: trailing commas, and bad text in values nobody reads, are rejected")
    func strictWhereFoundationIsLax() {
        struct OnlyB: Decodable, Equatable {
            var b: Int
        }
        func expectOnlyFoundationAccepts<Value: Decodable>(_ type: Value.Type, _ text: String) {
            #expect(throws: DecodingError.self, "\(text)") { try FastJSONDecoder().decode(type, from: Data(text.utf8)) }
            #expect(throws: Never.self, "\(text)") { try JSONDecoder().decode(type, from: Data(text.utf8)) }
        }
        expectOnlyFoundationAccepts([Int].self, "[1,]")
        expectOnlyFoundationAccepts([[Int]].self, "[[1,2,]]")
        expectOnlyFoundationAccepts([String: Int].self, #"{"a":1,}"#)
        // Foundation unescapes a string only when it is read, and rejects the lone surrogate then.
        expectOnlyFoundationAccepts(OnlyB.self, #"{"a":"\ud800\u0041","b":1}"#)
        expectOnlyFoundationAccepts(OnlyB.self, #"{"a":"\udc00","b":1}"#)
        Self.expectRejectedByBoth(Data(#"["\ud800\u0041"]"#.utf8), "a surrogate that is read")
    }
}

extension Result {
    fileprivate var failureValue: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

/// A JSON value with objects' members sorted by name, to compare across decoders whose `allKeys` orders differ.
private func sorted(_ value: JSONValue) -> JSONValue {
    switch value {
    case .array(let elements): .array(elements.map(sorted))
    case .object(let members): .object(members.map { ($0.key, sorted($0.value)) }.sorted { $0.0 < $1.0 })
    default: value
    }
}

/// Calls every container method on a fixed document and logs what happened, for comparing decoders.
private struct Probe: Decodable {
    var log: [String] = []

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: JSONKey.self)
        func key(_ name: String) -> JSONKey { JSONKey(name) }
        func run(_ name: String, _ body: () throws -> String) {
            do {
                self.log.append("\(name): \(try body())")
            } catch {
                self.log.append("\(name): \(FastJSONTests.describe(error))")
            }
        }
        run("contains") { "\(container.contains(key("n"))) \(container.contains(key("zz")))" }
        run("allKeys") { container.allKeys.map(\.stringValue).sorted().joined(separator: ",") }
        run("decodeNil n") { "\(try container.decodeNil(forKey: key("n")))" }
        run("decodeNil s") { "\(try container.decodeNil(forKey: key("s")))" }
        run("decodeNil missing") { "\(try container.decodeNil(forKey: key("zz")))" }
        run("String s") { try container.decode(String.self, forKey: key("s")) }
        run("String n") { try container.decode(String.self, forKey: key("n")) }
        run("String o") { try container.decode(String.self, forKey: key("o")) }
        run("String missing") { try container.decode(String.self, forKey: key("zz")) }
        run("Bool b") { "\(try container.decode(Bool.self, forKey: key("b")))" }
        run("Bool s") { "\(try container.decode(Bool.self, forKey: key("s")))" }
        run("Int f") { "\(try container.decode(Int.self, forKey: key("f")))" }
        run("Int a") { "\(try container.decode(Int.self, forKey: key("a")))" }
        run("Int32 b") { "\(try container.decode(Int32.self, forKey: key("b")))" }
        run("UInt s") { "\(try container.decode(UInt.self, forKey: key("s")))" }
        run("Double f") { "\(try container.decode(Double.self, forKey: key("f")))" }
        run("Double big") { "\(try container.decode(Double.self, forKey: key("big")))" }
        run("Double s") { "\(try container.decode(Double.self, forKey: key("s")))" }
        run("Int? n") { "\(try container.decodeIfPresent(Int.self, forKey: key("n")) as Any)" }
        run("Int? missing") { "\(try container.decodeIfPresent(Int.self, forKey: key("zz")) as Any)" }
        run("Int? s") { "\(try container.decodeIfPresent(Int.self, forKey: key("s")) as Any)" }
        run("String? s") { "\(try container.decodeIfPresent(String.self, forKey: key("s")) as Any)" }
        run("[Int]? a") { "\(try container.decodeIfPresent([Int].self, forKey: key("a")) as Any)" }
        run("[Int]? n") { "\(try container.decodeIfPresent([Int].self, forKey: key("n")) as Any)" }
        run("[Int] o") { "\(try container.decode([Int].self, forKey: key("o")))" }
        run("[String: Int] a") { "\(try container.decode([String: Int].self, forKey: key("a")))" }
        run("Int? via generic n") { "\(try container.decode(Int?.self, forKey: key("n")) as Any)" }
        run("nested n") { "\(try container.nestedContainer(keyedBy: JSONKey.self, forKey: key("n")).allKeys)" }
        run("nested missing") { "\(try container.nestedContainer(keyedBy: JSONKey.self, forKey: key("zz")).allKeys)" }
        run("nested s") { "\(try container.nestedContainer(keyedBy: JSONKey.self, forKey: key("s")).allKeys)" }
        run("nested o.q[0] as Int") {
            let nested = try container.nestedContainer(keyedBy: JSONKey.self, forKey: key("o"))
            var array = try nested.nestedUnkeyedContainer(forKey: key("q"))
            return "\(try array.decode(Int.self))"
        }
        run("nested o missing") {
            let nested = try container.nestedContainer(keyedBy: JSONKey.self, forKey: key("o"))
            return "\(try nested.decode(Int.self, forKey: key("zz")))"
        }
        run("unkeyed n") { "\(try container.nestedUnkeyedContainer(forKey: key("n")).count as Any)" }
        run("unkeyed o") { "\(try container.nestedUnkeyedContainer(forKey: key("o")).count as Any)" }
        run("unkeyed walk") {
            var array = try container.nestedUnkeyedContainer(forKey: key("m"))
            var steps: [String] = ["\(array.count as Any) \(array.isAtEnd)"]
            steps.append("\(try array.decodeNil()) \(array.currentIndex)")
            steps.append("\(try array.decodeNil()) \(array.currentIndex)")
            steps.append("\(try array.decode(Int.self)) \(array.currentIndex) \(array.isAtEnd)")
            steps.append("\(try array.decodeIfPresent(Int.self) as Any)")
            return steps.joined(separator: "; ")
        }
        run("unkeyed mismatch keeps index") {
            var array = try container.nestedUnkeyedContainer(forKey: key("a"))
            let failed = (try? array.decode(String.self)) == nil
            return "\(failed) \(array.currentIndex) \(try array.decode(Int.self))"
        }
        run("unkeyed string error") {
            var array = try container.nestedUnkeyedContainer(forKey: key("a"))
            _ = try array.decode(Int.self)
            return try array.decode(String.self)
        }
        run("unkeyed past end") {
            var array = try container.nestedUnkeyedContainer(forKey: key("e"))
            return "\(try array.decode(Int.self))"
        }
        run("unkeyed nested past end") {
            var array = try container.nestedUnkeyedContainer(forKey: key("e"))
            return "\(try array.nestedContainer(keyedBy: JSONKey.self).allKeys)"
        }
        run("unkeyed super past end") {
            var array = try container.nestedUnkeyedContainer(forKey: key("e"))
            return "\(try array.superDecoder().codingPath.count)"
        }
        run("unkeyed nested mismatch") {
            var array = try container.nestedUnkeyedContainer(forKey: key("a"))
            return "\(try array.nestedContainer(keyedBy: JSONKey.self).allKeys)"
        }
        run("unkeyed nested unkeyed mismatch") {
            var array = try container.nestedUnkeyedContainer(forKey: key("a"))
            return "\(try array.nestedUnkeyedContainer().count as Any)"
        }
        run("list[1].x") {
            var array = try container.nestedUnkeyedContainer(forKey: key("list"))
            _ = try array.nestedContainer(keyedBy: JSONKey.self)
            let second = try array.superDecoder().container(keyedBy: JSONKey.self)
            return "\(try second.decode(Int.self, forKey: key("x")))"
        }
        run("super o") {
            let sub = try container.superDecoder(forKey: key("o"))
            let nested = try sub.container(keyedBy: JSONKey.self)
            return "\(sub.codingPath.map(\.stringValue)) \(try nested.decode(Int.self, forKey: key("p")))"
        }
        run("super missing") {
            let sub = try container.superDecoder(forKey: key("zz"))
            let single = try sub.singleValueContainer()
            return "\(sub.codingPath.map(\.stringValue)) \(single.decodeNil())"
        }
        run("super missing String") {
            try container.superDecoder(forKey: key("zz")).singleValueContainer().decode(String.self)
        }
        run("super missing keyed") {
            "\(try container.superDecoder(forKey: key("zz")).container(keyedBy: JSONKey.self).allKeys)"
        }
        run("super()") { try container.superDecoder().codingPath.map(\.stringValue).joined() }
        run("single o as String") {
            try container.superDecoder(forKey: key("o")).singleValueContainer().decode(String.self)
        }
        run("single n as Int") {
            "\(try container.superDecoder(forKey: key("n")).singleValueContainer().decode(Int.self))"
        }
        run("single a as keyed") {
            "\(try container.superDecoder(forKey: key("a")).container(keyedBy: JSONKey.self).allKeys)"
        }
        run("single s as unkeyed") { "\(try container.superDecoder(forKey: key("s")).unkeyedContainer().count as Any)" }
        run("single n as unkeyed") { "\(try container.superDecoder(forKey: key("n")).unkeyedContainer().count as Any)" }
        run("codingPath") {
            let nested = try container.nestedContainer(keyedBy: JSONKey.self, forKey: key("o"))
            var array = try nested.nestedUnkeyedContainer(forKey: key("q"))
            let element = try array.superDecoder()
            return (nested.codingPath + array.codingPath + element.codingPath).map(\.stringValue).joined(separator: "/")
        }
    }
}

/// A JSON document for building test inputs: numbers are kept as text, so any spelling can be written.
private indirect enum Document: Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([Document])
    case object([Member])

    struct Member: Equatable {
        var name: String
        var value: Document
    }

    enum Step: CustomStringConvertible {
        case member(Int)
        case element(Int)

        var description: String {
            switch self {
            case .member(let index): ".\(index)"
            case .element(let index): "[\(index)]"
            }
        }
    }

    init?(_ value: JSONValue) {
        switch value {
        case .null: self = .null
        case .bool(let flag): self = .bool(flag)
        case .integer(let number): self = .number(String(number))
        case .number(let number): self = .number("\(number)")
        case .string(let text): self = .string(text)
        case .array(let elements): self = .array(elements.compactMap(Document.init))
        case .object(let members):
            self = .object(
                members.compactMap { member in Document(member.value).map { Member(name: member.key, value: $0) } }
            )
        }
    }

    /// Every path to a value, the root excluded.
    var paths: [[Step]] {
        switch self {
        case .array(let elements):
            elements.enumerated().flatMap { index, element in
                [[Step.element(index)]] + element.paths.map { [Step.element(index)] + $0 }
            }
        case .object(let members):
            members.enumerated().flatMap { index, member in
                [[Step.member(index)]] + member.value.paths.map { [Step.member(index)] + $0 }
            }
        default: []
        }
    }

    /// The document with the value at `path` replaced, or removed when `replacement` is nil.
    func replacing(at path: ArraySlice<Step>, with replacement: Document?) -> Document? {
        guard let step = path.first else { return replacement }
        switch (self, step) {
        case (.array(var elements), .element(let index)):
            if let changed = elements[index].replacing(at: path.dropFirst(), with: replacement) {
                elements[index] = changed
            } else {
                elements.remove(at: index)
            }
            return .array(elements)
        case (.object(var members), .member(let index)):
            if let changed = members[index].value.replacing(at: path.dropFirst(), with: replacement) {
                members[index].value = changed
            } else {
                members.remove(at: index)
            }
            return .object(members)
        default:
            return self
        }
    }

    var text: String {
        var random = Random(seed: 0)
        return self.render(&random, spaced: false)
    }

    func render(_ random: inout Random, spaced: Bool = true) -> String {
        let space = spaced ? [" ", "", "\n", "\t", "\r\n "][Int(random.next() % 5)] : ""
        switch self {
        case .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .number(let text): return text
        case .string(let text): return Self.quote(text, &random, escapeAll: spaced && random.next() % 4 == 0)
        case .array(let elements):
            return "[" + space + elements.map { $0.render(&random, spaced: spaced) }.joined(separator: "," + space)
                + "]"
        case .object(let members):
            let rendered = members.map { member in
                Self.quote(member.name, &random, escapeAll: false) + space + ":"
                    + member.value.render(&random, spaced: spaced)
            }
            return "{" + rendered.joined(separator: space + "," + space) + space + "}"
        }
    }

    private static func quote(_ text: String, _ random: inout Random, escapeAll: Bool) -> String {
        var output = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20 || (escapeAll && scalar.value > 0x7E):
                for unit in String(scalar).utf16 { output += String(format: "\\u%04x", unit) }
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output + "\""
    }

    static let names = ["id", "name", "state", "a", "b", "é", "😀", "", "key with space", "ключ", "x\ny"]
    static let strings = [
        "", "RUNNING", "line\r\n", "tab\there", "quote\"", "back\\slash", "é中", "😀🇨🇳", "\u{2028}", "\u{0}",
    ]
    static let numbers = [
        "0", "-0", "7", "-42", "2886", "1.5", "-0.25", "1e3", "2.5E-3", "9223372036854775807", "-9223372036854775808",
        "18446744073709551615", "1e300", "0.1", "123456789.123456789",
    ]

    static func random(_ random: inout Random, depth: Int) -> Document {
        let choice = random.next() % (depth > 4 ? 4 : 7)
        switch choice {
        case 0: return .null
        case 1: return .bool(random.next() % 2 == 0)
        case 2: return .number(Self.numbers[Int(random.next() % UInt64(Self.numbers.count))])
        case 3: return .string(Self.strings[Int(random.next() % UInt64(Self.strings.count))])
        case 4: return .array((0..<random.next() % 5).map { _ in Self.random(&random, depth: depth + 1) })
        default:
            var members: [Member] = []
            var used: Set<String> = []
            for _ in 0..<random.next() % 6 {
                let name = Self.names[Int(random.next() % UInt64(Self.names.count))]
                // Repeated names are covered by their own test; here each name appears once.
                guard used.insert(name).inserted else { continue }
                members.append(Member(name: name, value: Self.random(&random, depth: depth + 1)))
            }
            return .object(members)
        }
    }
}

/// SplitMix64: deterministic inputs, the same on every run.
private struct Random {
    var state: UInt64

    init(seed: UInt64) { self.state = seed }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var value = self.state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
