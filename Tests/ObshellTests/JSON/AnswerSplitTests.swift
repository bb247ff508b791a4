import Foundation
import Testing

@testable import ObshellModel

/// The pass that cuts a list answer at its `data` without parsing it, against the full reader.
@Suite("Splitting a list answer at its data")
struct AnswerSplitTests {
    static func fixture() throws -> Data {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/unfinish-scale-out.json", withExtension: nil))
        return try Data(contentsOf: url)
    }

    /// Answers in the shapes obshell sends and a few it could: spacing, escapes inside values, every value kind.
    static let documents: [String] = [
        #"{"successful":true,"timestamp":"2024-01-10T11:34:32.5+08:00","duration":1,"status":200,"traceId":"a","data":{"contents":null}}"#,
        #"{ "data" : [1, "x\"}]", {"a": [true, null]}] , "successful" : true }"#,
        "{\n\t\"status\": 200,\r\n \"data\": \"a \\\\\\\" string\" \n}\n",
        #"{"data":-1.5e3,"successful":false}"#,
        #"{"data":null}"#,
        #"{"data":{},"error":{"code":1,"errCode":"Security.Authentication.Header.DecryptFailed","message":"x"}}"#,
    ]

    @Test("the value found is the full reader's, and the remainder reads as the same envelope")
    func agreesWithTheReader() throws {
        for text in Self.documents + [String(decoding: try Self.fixture(), as: UTF8.self)] {
            let data = Data(text.utf8)
            let split = try #require(AnswerSplit(member: "data", of: data), "\(text)")
            let whole = try FastJSONDecoder().decode([String: JSONValue].self, from: data)
            let value = data[
                (data.startIndex + split.valueRange.lowerBound)..<(data.startIndex + split.valueRange.upperBound)
            ]
            #expect(try FastJSONDecoder().decode(JSONValue.self, from: Data(value)) == whole["data"], "\(text)")
            #expect(split.fingerprint.length == value.count)
            let rest = try FastJSONDecoder().decode([String: JSONValue].self, from: split.remainder)
            #expect(rest.keys.sorted() == whole.keys.sorted())
            #expect(rest.filter { $0.key != "data" } == whole.filter { $0.key != "data" })
            #expect(rest["data"] == .object([]))
        }
    }

    @Test(
        "answers the pass cannot read plainly are left to the parser",
        arguments: [
            #"{"successful":true}"#, #"{"data":1,"data":2}"#, #"{"d\u0061ta":1}"#, #"{"data":1} x"#, #"[{"data":1}]"#,
            #"{"data":}"#, #"{"data":"unterminated}"#, #"{"data":[1,2}"#, "", "{}", #"{"data":1,}"#,
        ]
    )
    func declines(text: String) {
        #expect(AnswerSplit(member: "data", of: Data(text.utf8)) == nil)
    }

    /// What makes the client's shortcut sound: whenever the data bytes are those of a valid answer and the remainder
    /// parses, the whole document parses too (mutations of every byte of a small answer).
    @Test("a valid remainder around known data means a valid answer")
    func remainderValidity() throws {
        let original = Data(Self.documents[0].utf8)
        let known = try #require(AnswerSplit(member: "data", of: original)).fingerprint
        let replacements: [UInt8] = [0x20, 0x22, 0x2C, 0x3A, 0x5C, 0x5D, 0x7B, 0x7D, 0x30, 0x61, 0x00]
        var checked = 0
        for index in original.indices {
            for byte in replacements {
                var mutated = original
                mutated[index] = byte
                guard let split = AnswerSplit(member: "data", of: mutated), split.fingerprint == known,
                    (try? JSONTree(split.remainder)) != nil
                else { continue }
                checked += 1
                #expect((try? JSONTree(mutated)) != nil, "\(String(decoding: mutated, as: UTF8.self))")
            }
        }
        #expect(checked > 100)
    }
}
