import Foundation
import Testing
import YAML

@Suite struct DecodingTests {
    static let text = """
        name: db
        quoted: "yes"
        number: 42
        negative: -7
        plusSigned: +3
        big: 99999999999999999999
        fraction: 1.5
        word: abc
        port: abc
        quotedInt: "5"
        taggedInt: !!int "12"
        flag: true
        Flag: False
        yes: yes
        quotedTrue: "true"
        ratio: 0.25
        exp: 1e3
        inf: -.inf
        empty:
        tilde: ~
        nullWord: null
        quotedNull: "null"
        strTagged: !!str null
        map: { a: 1 }
        list: [a, b]
        labels: { env: prod, region: east }
        block: |
          text

        """

    let node: YAMLNode

    init() throws {
        self.node = try root(Self.text)
    }

    private func value(_ key: String) throws -> YAMLNode {
        try #require(self.node[key])
    }

    @Test func strings() throws {
        #expect(try self.value("name").string() == "db")
        #expect(try self.value("quoted").string() == "yes")
        #expect(try self.value("number").string() == "42")
        #expect(try self.value("quotedNull").string() == "null")
        #expect(try self.value("strTagged").string() == "null")
        #expect(try self.value("block").string() == "text\n")
    }

    @Test func stringWrongTypes() throws {
        let map = try self.value("map")
        #expect(
            failure { try map.string() }
                == "t.yaml:24:6: error: expected a string, found a mapping"
        )
        let list = try self.value("list")
        #expect(
            failure { try list.string() }
                == "t.yaml:25:7: error: expected a string, found a list"
        )
        let empty = try self.value("empty")
        #expect(
            failure { try empty.string() }
                == "t.yaml:19:7: error: expected a string, found an empty value"
        )
        let tilde = try self.value("tilde")
        #expect(
            failure { try tilde.string() }
                == "t.yaml:20:8: error: expected a string, found null"
        )
    }

    @Test func stringFromAFixedSet() throws {
        let formats = ["generic", "slack", "dingtalk"]
        #expect(try root("f: slack\n")["f"]?.string(oneOf: formats) == "slack")
        let typo = try #require(try root("f: slak\n")["f"])
        #expect(
            failure { try typo.string(oneOf: formats) }
                == "t.yaml:1:4: error: expected one of \"generic\", \"slack\", \"dingtalk\", found \"slak\" "
                + "(did you mean \"slack\"?)"
        )
        let other = try #require(try root("f: teams\n")["f"])
        #expect(
            failure { try other.string(oneOf: formats) }
                == "t.yaml:1:4: error: expected one of \"generic\", \"slack\", \"dingtalk\", found \"teams\""
        )
    }

    @Test func nulls() throws {
        #expect(try self.value("empty").isNull)
        #expect(try self.value("tilde").isNull)
        #expect(try self.value("nullWord").isNull)
        #expect(try !self.value("quotedNull").isNull)
        #expect(try !self.value("strTagged").isNull)
        #expect(try !self.value("map").isNull)
    }

    @Test func integers() throws {
        #expect(try self.value("number").int() == 42)
        #expect(try self.value("negative").int() == -7)
        #expect(try self.value("plusSigned").int() == 3)
        #expect(try self.value("taggedInt").int() == 12)
        #expect(try self.value("number").int(in: 1...65535) == 42)
    }

    @Test func integerErrors() throws {
        let port = try self.value("port")
        #expect(
            failure { try port.int() }
                == "t.yaml:9:7: error: expected an integer, found \"abc\""
        )
        let fraction = try self.value("fraction")
        #expect(
            failure { try fraction.int() }
                == "t.yaml:7:11: error: expected an integer, found \"1.5\""
        )
        let quoted = try self.value("quotedInt")
        #expect(
            failure { try quoted.int() }
                == "t.yaml:10:12: error: expected an integer, found the quoted string \"5\""
        )
        let big = try self.value("big")
        #expect(
            failure { try big.int() }
                == "t.yaml:6:6: error: the integer 99999999999999999999 is out of range "
                + "(-9223372036854775808 to 9223372036854775807)"
        )
        let number = try self.value("number")
        #expect(
            failure { try number.int(in: 1...10) }
                == "t.yaml:3:9: error: expected an integer from 1 to 10, found 42"
        )
        let map = try self.value("map")
        #expect(
            failure { try map.int() }
                == "t.yaml:24:6: error: expected an integer, found a mapping"
        )
    }

    @Test func booleans() throws {
        #expect(try self.value("flag").bool() == true)
        #expect(try self.value("Flag").bool() == false)
        let yes = try self.value("yes")
        #expect(
            failure { try yes.bool() }
                == "t.yaml:14:6: error: expected a boolean (true or false), found \"yes\""
        )
        let quoted = try self.value("quotedTrue")
        #expect(
            failure { try quoted.bool() }
                == "t.yaml:15:13: error: expected a boolean (true or false), found the quoted string \"true\""
        )
    }

    @Test func doubles() throws {
        #expect(try self.value("ratio").double() == 0.25)
        #expect(try self.value("exp").double() == 1000)
        #expect(try self.value("number").double() == 42)
        #expect(try self.value("inf").double() == -.infinity)
        let word = try self.value("word")
        #expect(
            failure { try word.double() }
                == "t.yaml:8:7: error: expected a number, found \"abc\""
        )
        // Double(_:) would take these; the YAML core schema does not.
        for text in ["0x10", "nan", "1_000", "1e", "."] {
            let node = try root("v: \(text)\n")
            #expect(throws: YAMLError.self) { try #require(node["v"]).double() }
        }
    }

    @Test func listsAndMaps() throws {
        #expect(try self.value("list").list { try $0.string() } == ["a", "b"])
        #expect(try self.value("name").oneOrList { try $0.string() } == ["db"])
        #expect(try self.value("list").oneOrList { try $0.string() } == ["a", "b"])
        let labels = try self.value("labels").stringMap { try $0.string() }
        #expect(labels.map(\.key) == ["env", "region"])
        #expect(labels.map(\.value) == ["prod", "east"])
        let name = try self.value("name")
        #expect(
            failure { try name.list { try $0.string() } }
                == "t.yaml:1:7: error: expected a list, found \"db\""
        )
        #expect(
            failure { try name.mapping() }
                == "t.yaml:1:7: error: expected a mapping, found \"db\""
        )
    }

    @Test func listElementErrorPointsAtTheElement() throws {
        let node = try root("ports: [1, 2, x, 4]\n")
        let ports = try #require(node["ports"])
        #expect(
            failure { try ports.list { try $0.int() } }
                == "t.yaml:1:15: error: expected an integer, found \"x\""
        )
    }

    @Test func nonStringKeyInStringMap() throws {
        let node = try root("m: { [a]: 1 }\n")
        let map = try #require(node["m"])
        #expect(
            failure { try map.stringMap { try $0.int() } }
                == "t.yaml:1:6: error: expected a string as key, found a list"
        )
    }

    @Test func diagnosticsCollectEveryProblem() throws {
        let node = try root("ports: [1, x, 3, y]\nflag: maybe\n")
        var diagnostics = Diagnostics()
        let elements = try #require(node["ports"]).sequence()
        let ports = elements.compactMap { element in
            diagnostics.collect { try element.int() }
        }
        let flag = try #require(node["flag"])
        _ = diagnostics.collect { try flag.bool() }
        diagnostics.warning("flag is deprecated", at: flag.mark)
        #expect(ports == [1, 3])
        #expect(diagnostics.hasErrors)
        #expect(diagnostics.errors.count == 3)
        #expect(diagnostics.warnings.count == 1)
        #expect(
            diagnostics.description == """
                t.yaml:1:12: error: expected an integer, found "x"
                t.yaml:1:18: error: expected an integer, found "y"
                t.yaml:2:7: error: expected a boolean (true or false), found "maybe"
                t.yaml:2:7: warning: flag is deprecated
                """
        )
    }

    @Test func diagnosticsWithoutPosition() {
        var diagnostics = Diagnostics()
        #expect(diagnostics.isEmpty)
        diagnostics.append(Diagnostic(.warning, "the file is empty", file: "rules/a.yaml"))
        diagnostics.append(
            YAMLError(code: .unreadable, message: "cannot read the file: Permission denied", file: "b.yaml")
        )
        #expect(
            diagnostics.description
                == "rules/a.yaml: warning: the file is empty\nb.yaml: error: cannot read the file: Permission denied"
        )
    }

    @Test func collectRecordsOtherErrorsWithoutPosition() {
        var diagnostics = Diagnostics()
        let value: Int? = diagnostics.collect { throw TestFailure(message: "not a YAML problem") }
        #expect(value == nil)
        #expect(diagnostics.description == "error: not a YAML problem")
    }

    @Test func typedErrorsNeedNoCast() throws {
        // The primitives throw `YAMLError` itself, so a catch reads its code and mark without a cast.
        let port = try #require(try root("port: x\n")["port"])
        do {
            _ = try port.int()
            Issue.record("x was read as an integer")
        } catch {
            #expect(error.code == .wrongType)
            #expect(error.mark == YAMLMark(file: "t.yaml", line: 1, column: 7))
            #expect(error.message == "expected an integer, found \"x\"")
        }
    }

    @Test func quoteEscapesAndShortens() {
        #expect(YAMLNode.quote("a\"b\\c\n\r\t\u{0}") == "\"a\\\"b\\\\c\\n\\r\\t\\u{0}\"")
        let long = String(repeating: "x", count: 100)
        #expect(YAMLNode.quote(long) == "\"" + String(repeating: "x", count: 60) + "…\"")
    }

    @Test func parsesAFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("yamltests-\(UUID().uuidString).yaml")
        try Data("answer: 42\nport: abc\n".utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let node = try #require(try YAMLParser().parse(contentsOfFile: url.path))
        #expect(try #require(node["answer"]).int() == 42)
        let port = try #require(node["port"])
        #expect(
            failure { try port.int() }
                == "\(url.path):2:7: error: expected an integer, found \"abc\""
        )
    }
}
