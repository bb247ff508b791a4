import Support
import Testing
import YAML

@Suite struct MappingReaderTests {
    static let text = """
        name: prod-east
        url: http://10.0.0.5:2886
        pol_interval: 5s
        timeout: 5s
        Labels: { env: prod }
        colour: blue

        """

    @Test func takesKnownKeysAndReportsTheRest() throws {
        var reader = try root(Self.text).mappingReader()
        #expect(reader.keys.map(\.name) == ["name", "url", "pol_interval", "timeout", "Labels", "colour"])
        #expect(try reader.required("name") { try $0.string() } == "prod-east")
        #expect(try reader.required("url").string() == "http://10.0.0.5:2886")
        #expect(try reader.optional("timeout") { try $0.duration() } == .seconds(5))
        #expect(try reader.optional("poll_interval") { try $0.duration() } == nil)
        #expect(reader.optional("labels") == nil)
        #expect(reader.contains("colour"))
        #expect(
            reader.untakenKeys == [
                YAMLMappingReader.Key(name: "pol_interval", mark: YAMLMark(file: "t.yaml", line: 3, column: 1)),
                YAMLMappingReader.Key(name: "Labels", mark: YAMLMark(file: "t.yaml", line: 5, column: 1)),
                YAMLMappingReader.Key(name: "colour", mark: YAMLMark(file: "t.yaml", line: 6, column: 1)),
            ]
        )
        var diagnostics = Diagnostics()
        reader.reportUnknownKeys(into: &diagnostics)
        #expect(
            diagnostics.description == """
                t.yaml:3:1: error: unknown key "pol_interval" (did you mean "poll_interval"?)
                t.yaml:5:1: error: unknown key "Labels" (did you mean "labels"?)
                t.yaml:6:1: error: unknown key "colour"
                """
        )
        #expect(
            reader.unknownKeyErrors(known: ["color"]).map(\.description).last
                == "t.yaml:6:1: error: unknown key \"colour\" (did you mean \"color\"?)"
        )
        #expect(reader.unknownKeyErrors().allSatisfy { $0.code == .unknownKey })
    }

    @Test func missingRequiredKeyPointsAtTheMapping() throws {
        let node = try root("targets:\n  - name: a\n    url: x\n  - name: b\n")
        let targets = try #require(node["targets"]).sequence()
        var diagnostics = Diagnostics()
        for target in targets {
            _ = diagnostics.collect {
                var reader = try target.mappingReader()
                return try reader.required("url") { try $0.string() }
            }
        }
        #expect(diagnostics.description == "t.yaml:4:5: error: missing required key \"url\"")
    }

    @Test func requiredKeyWithWrongValuePointsAtTheValue() throws {
        var reader = try root("port: abc\n").mappingReader()
        #expect(
            failure { try reader.required("port") { try $0.int() } }
                == "t.yaml:1:7: error: expected an integer, found \"abc\""
        )
    }

    @Test func readerNeedsAMappingWithStringKeys() throws {
        let list = try root("[1, 2]\n")
        #expect(
            failure { try list.mappingReader() }
                == "t.yaml:1:1: error: expected a mapping, found a list"
        )
        let complex = try root("? [a]\n: 1\n")
        #expect(
            failure { try complex.mappingReader() }
                == "t.yaml:1:3: error: expected a string as key, found a list"
        )
    }

    @Test func nearestSuggestsCloseWordsOnly() {
        #expect(nearest(to: "treshold", among: ["target", "threshold"]) == "threshold")
        #expect(nearest(to: "recieve", among: ["receivers", "receive"]) == "receive")
        #expect(nearest(to: "Notify", among: ["notify"]) == "notify")
        #expect(nearest(to: "colour", among: ["name", "url"]) == nil)
        // Short words get one edit at most, so "to" does not draw "tls".
        #expect(nearest(to: "to", among: ["tls"]) == nil)
        #expect(nearest(to: "tl", among: ["tls"]) == "tls")
        #expect(nearest(to: "abc", among: [String]()) == nil)
        #expect(nearest(to: "poll_intervl", among: ["poll_interval", "poll_intervals"]) == "poll_interval")
    }

    @Test func editDistanceCountsSwapsAsOneEdit() {
        #expect(editDistance("", "abc") == 3)
        #expect(editDistance("abc", "") == 3)
        #expect(editDistance("kitten", "sitting") == 3)
        #expect(editDistance("ab", "ba") == 1)
        #expect(editDistance("same", "same") == 0)
        #expect(editDistance("😀a", "a😀") == 1)
    }
}
