import Testing
import YAML

@Suite struct ParserTests {
    @Test func nestedDocumentKeepsOrderAndPositions() throws {
        let text = """
            targets:
              - name: prod-east
                labels: { env: prod, region: east }
              - name: "prod-west"
                ports: [1, 2]
            defaults:
              timeout: 5s

            """
        let node = try root(text)
        let pairs = try #require(node.pairs)
        #expect(pairs.map { $0.key.scalar?.value } == ["targets", "defaults"])
        #expect(node.mark == YAMLMark(file: "t.yaml", line: 1, column: 1))

        let targets = try #require(node["targets"]?.elements)
        #expect(targets.count == 2)
        // A sequence starts at its first dash, a block mapping at its first key.
        #expect(node["targets"]?.mark == YAMLMark(file: "t.yaml", line: 2, column: 3))
        #expect(targets[0].mark == YAMLMark(file: "t.yaml", line: 2, column: 5))
        #expect(targets[0]["name"]?.scalar == YAMLScalar(value: "prod-east", style: .plain))
        #expect(targets[0]["name"]?.mark == YAMLMark(file: "t.yaml", line: 2, column: 11))

        let labels = try #require(targets[0]["labels"])
        #expect(labels.mark == YAMLMark(file: "t.yaml", line: 3, column: 13))
        #expect(labels.pairs?.map { $0.key.scalar?.value } == ["env", "region"])
        #expect(labels["region"]?.mark == YAMLMark(file: "t.yaml", line: 3, column: 34))

        #expect(targets[1]["name"]?.scalar == YAMLScalar(value: "prod-west", style: .doubleQuoted))
        #expect(targets[1]["name"]?.mark == YAMLMark(file: "t.yaml", line: 4, column: 11))
        let ports = try #require(targets[1]["ports"]?.elements)
        #expect(ports.map(\.mark.column) == [13, 16])

        #expect(node["defaults"]?["timeout"]?.mark == YAMLMark(file: "t.yaml", line: 7, column: 12))
        #expect(node["missing"] == nil)
    }

    @Test func columnsCountCharactersNotBytes() throws {
        // é is 2 bytes, € 3 and 😀 4, yet each takes one column, as libyaml counts.
        let node = try root("é€😀: x\n")
        let pair = try #require(node.pairs?.first)
        #expect(pair.key.scalar?.value == "é€😀")
        #expect(pair.value.mark == YAMLMark(file: "t.yaml", line: 1, column: 6))
    }

    @Test func byteOrderMarkTakesNoColumn() throws {
        let node = try #require(
            try YAMLParser().parse(bytes: [0xEF, 0xBB, 0xBF] + Array("k: v\n".utf8), file: "t.yaml")
        )
        #expect(node["k"]?.mark == YAMLMark(file: "t.yaml", line: 1, column: 4))
    }

    @Test func crlfLineEndingsCountAsOneBreak() throws {
        let node = try root("a: 1\r\nb: 2\r\n")
        #expect(node["b"]?.mark == YAMLMark(file: "t.yaml", line: 2, column: 4))
    }

    @Test func scalarStylesAndTagsArePreserved() throws {
        let text = """
            plain: text
            single: 'it''s'
            double: "tab\\there"
            literal: |
              line one
              line two
            folded: >
              line one
              line two
            string: !!str 5
            local: !custom value
            tagged: !!map { a: 1 }
            list: !things [x]

            """
        let node = try root(text)
        #expect(node["plain"]?.scalar == YAMLScalar(value: "text", style: .plain))
        #expect(node["single"]?.scalar == YAMLScalar(value: "it's", style: .singleQuoted))
        #expect(node["double"]?.scalar == YAMLScalar(value: "tab\there", style: .doubleQuoted))
        #expect(node["literal"]?.scalar == YAMLScalar(value: "line one\nline two\n", style: .literal))
        #expect(node["folded"]?.scalar == YAMLScalar(value: "line one line two\n", style: .folded))
        #expect(node["plain"]?.tag == nil)
        #expect(node["string"]?.tag == "tag:yaml.org,2002:str")
        #expect(node["string"]?.scalar?.value == "5")
        #expect(node["local"]?.tag == "!custom")
        #expect(node["tagged"]?.tag == "tag:yaml.org,2002:map")
        #expect(node["list"]?.tag == "!things")
        // A node's mark is where its properties start.
        #expect(node["string"]?.mark == YAMLMark(file: "t.yaml", line: 10, column: 9))
    }

    @Test func valuesAreByteExact() throws {
        let text = """
            unicode: "Grüße, 世界"
            emoji: 👩‍💻🇨🇳
            cr: "a\\rb"
            crlf: "a\\r\\nb"
            nul: "a\\0b"
            escaped: "caf\\u00e9"
            decomposed: "cafe\\u0301"
            astral: "\\U0001F600"

            """
        let node = try root(text)
        func bytes(_ key: String) -> [UInt8]? { node[key]?.scalar.map { Array($0.value.utf8) } }
        #expect(bytes("unicode") == Array("Grüße, 世界".utf8))
        #expect(bytes("emoji") == Array("👩‍💻🇨🇳".utf8))
        #expect(bytes("cr") == [0x61, 0x0D, 0x62])
        #expect(bytes("crlf") == [0x61, 0x0D, 0x0A, 0x62])
        #expect(bytes("nul") == [0x61, 0x00, 0x62])
        #expect(bytes("escaped") == [0x63, 0x61, 0x66, 0xC3, 0xA9])
        // Canonically equal to "café" as a Swift String, but the bytes must stay as written.
        #expect(bytes("decomposed") == [0x63, 0x61, 0x66, 0x65, 0xCC, 0x81])
        #expect(bytes("astral") == [0xF0, 0x9F, 0x98, 0x80])
    }

    @Test(arguments: ["", "\n", "   \n\n", "# only a comment\n", "---\n", "--- # nothing\n...\n"])
    func emptyDocumentGivesNil(text: String) throws {
        #expect(try parse(text) == nil)
    }

    @Test func explicitNullDocumentIsANode() throws {
        let node = try root("~\n")
        #expect(node.isNull)
    }

    @Test func secondDocumentIsRefused() {
        #expect(
            parseFailure("a: 1\n---\nb: 2\n")
                == "t.yaml:2:1: error: a second YAML document starts here; this file must hold exactly one document"
        )
        #expect(
            parseFailure("--- a\n...\n--- b\n")
                == "t.yaml:3:1: error: a second YAML document starts here; this file must hold exactly one document"
        )
        // After an explicit end, libyaml itself wants a `---` before more content.
        #expect(parseFailure("a: 1\n...\nb: 2\n") == "t.yaml:3:1: error: did not find expected <document start>")
    }

    @Test func singleDocumentWithMarkersIsAccepted() throws {
        let node = try root("---\na: 1\n...\n")
        #expect(node["a"]?.scalar?.value == "1")
    }

    @Test func nestingDeeperThanTheLimitIsRefused() {
        let deep = String(repeating: "[", count: 100_000)
        #expect(
            parseFailure(deep)
                == "t.yaml:1:257: error: lists and mappings are nested more than 256 levels deep"
        )
        let options = YAMLParser.Options(maxDepth: 3)
        #expect(parseFailure("a:\n  b:\n    c: 1\n", options: options) == nil)
        #expect(
            parseFailure("a:\n  b:\n    c:\n      d: 1\n", options: options)
                == "t.yaml:4:7: error: lists and mappings are nested more than 3 levels deep"
        )
    }

    @Test func everyPrefixOfADocumentParsesOrFailsCleanly() {
        let text = """
            a: &x { b: [1, "two", 'three'], c: |
                block }
            d: *x
            e: !!str "\\u00e9\\r"
            <<: { f: 1 }
            g: >-
              folded
            """
        let scalars = Array(text.unicodeScalars)
        for end in 0...scalars.count {
            var prefix = ""
            prefix.unicodeScalars.append(contentsOf: scalars[0..<end])
            do {
                _ = try parse(prefix)
            } catch {
                #expect(error.description.hasPrefix("t.yaml:"))
            }
        }
    }

    @Test func invalidBytesAreErrorsNotCrashes() throws {
        for byte in UInt8.min...UInt8.max {
            do {
                _ = try YAMLParser().parse(bytes: Array("a: [".utf8) + [byte, byte, 0x0A], file: "t.yaml")
            } catch {
                #expect(error.description.hasPrefix("t.yaml:"))
            }
        }
    }
}
