import Foundation
import Support
import Testing

@Suite("OrderedJSON: the one JSON writer, in the order given")
struct OrderedJSONTests {
    @Test func valuesAreWrittenInOrder() {
        let value = OrderedJSON.members([
            "z": .string("a/b"),
            "absent": nil,
            "n": .integer(-3),
            "flags": .array([.bool(true), .bool(false), .null]),
            "raw": .raw(#"{"k":1}"#),
        ])
        #expect(value.text(forJavaScript: false) == #"{"z":"a/b","n":-3,"flags":[true,false,null],"raw":{"k":1}}"#)
    }

    @Test func javaScriptEscapingIsTheCallersChoice() {
        let value = OrderedJSON.object([OrderedJSON.Member("k\u{2028}", .string("a\u{2029}b\u{7F}\"\\\n\u{01}é"))])
        #expect(value.text(forJavaScript: false) == "{\"k\u{2028}\":\"a\u{2029}b\u{7F}\\\"\\\\\\n\\u0001é\"}")
        #expect(value.text(forJavaScript: true) == #"{"k\u2028":"a\u2029b\u007f\"\\\n\u0001é"}"#)
        #expect(value.data(forJavaScript: true) == Data(value.text(forJavaScript: true).utf8))
    }

    @Test func theObjectBuilderMatchesTheValue() {
        var object = OrderedJSONObject()
        object.string("id", "e1")
        object.string("missing", nil)
        object.integer("stage", 2)
        object.strings("receivers", ["a", "b\"c"])
        object.raw("nested", "[]")
        #expect(object.text == #"{"id":"e1","stage":2,"receivers":["a","b\"c"],"nested":[]}"#)
        #expect(object.value.text(forJavaScript: false) == object.text)
        #expect(OrderedJSONObject().text == "{}")
    }

    @Test func stringLiteralsAndTheirEncodedSize() {
        #expect(JSONStringLiteral.quoted("tab\there") == #""tab\there""#)
        #expect(JSONStringLiteral.quoted("\u{08}\u{0C}\r") == #""\b\f\r""#)
        #expect(JSONStringLiteral.encodedSize(of: "a") == 1)
        #expect(JSONStringLiteral.encodedSize(of: "\"") == 2)
        #expect(JSONStringLiteral.encodedSize(of: "\u{01}") == 6)
        #expect(JSONStringLiteral.encodedSize(of: "é") == 2)
        #expect(JSONStringLiteral.encodedSize(of: "\u{2028}") == 3)
        #expect(JSONStringLiteral.encodedSize(of: "\u{2028}", forJavaScript: true) == 6)
    }
}
