import Testing
import YAML

@Suite struct AliasTests {
    @Test func aliasYieldsTheAnchoredNodeAndKeepsItsOwnPosition() throws {
        let text = """
            base: &base
              host: db
              port: 2881
            copy: *base
            names: [&n one, *n]

            """
        let node = try root(text)
        let base = try #require(node["base"])
        let copy = try #require(node["copy"])
        #expect(copy.content == base.content)
        #expect(copy.mark == base.mark)
        #expect(base.aliasMark == nil)
        #expect(copy.aliasMark == YAMLMark(file: "t.yaml", line: 4, column: 7))
        let names = try #require(node["names"]?.elements)
        #expect(names.map { $0.scalar?.value } == ["one", "one"])
        #expect(names[1].aliasMark == YAMLMark(file: "t.yaml", line: 5, column: 17))
    }

    @Test func laterAnchorReplacesEarlierOne() throws {
        let node = try root("a: &x 1\nb: &x 2\nc: *x\n")
        #expect(node["c"]?.scalar?.value == "2")
    }

    @Test func unknownAliasIsAnErrorAtTheAlias() {
        #expect(
            parseFailure("a: 1\nb: [x, *nope]\n")
                == "t.yaml:2:8: error: unknown alias \"*nope\": no anchor \"&nope\" is defined before it"
        )
        // An anchor defined after its alias does not count.
        #expect(
            parseFailure("a: *later\nb: &later 1\n")
                == "t.yaml:1:4: error: unknown alias \"*later\": no anchor \"&later\" is defined before it"
        )
    }

    @Test func aliasInsideItsOwnAnchorIsAnError() {
        #expect(
            parseFailure("a: &loop [1, *loop]\n")
                == "t.yaml:1:14: error: alias \"*loop\" refers to the node that contains it"
        )
    }

    @Test func billionLaughsIsRefused() {
        let text = """
            a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
            b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
            c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
            d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
            e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
            f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
            g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
            h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
            i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]

            """
        // a holds 10 nodes, b 91, c 820, d 7381: 909 copied before d, 8289 after it; the first *d goes over 10000.
        #expect(
            parseFailure(text)
                == "t.yaml:5:8: error: too many nodes copied through aliases (more than 10000) at alias \"*d\""
        )
    }

    @Test func aliasLimitIsConfigurable() {
        let text = "a: &a [1, 2, 3, 4]\nb: *a\nc: *a\nd: *a\n"
        #expect(parseFailure(text, options: YAMLParser.Options(maxAliasExpansion: 15)) == nil)
        #expect(
            parseFailure(text, options: YAMLParser.Options(maxAliasExpansion: 14))
                == "t.yaml:4:4: error: too many nodes copied through aliases (more than 14) at alias \"*a\""
        )
    }

    @Test func aliasesCannotNestBeyondTheDepthLimit() {
        let options = YAMLParser.Options(maxDepth: 4)
        let text = "a: &a [[1]]\nb: [[*a]]\n"
        #expect(parseFailure("a: &a [[1]]\nb: [*a]\n", options: options) == nil)
        #expect(
            parseFailure(text, options: options)
                == "t.yaml:2:6: error: alias \"*a\" nests lists and mappings more than 4 levels deep"
        )
    }

    @Test func mergeKeyMergesAMapping() throws {
        let text = """
            defaults: &defaults
              timeout: 5s
              retries: 3
            target:
              name: east
              <<: *defaults
              retries: 5

            """
        let target = try #require(try root(text)["target"])
        let pairs = try #require(target.pairs)
        // Written keys win; merged keys appear where the merge key stands and keep the position they were written at.
        #expect(pairs.map { $0.key.scalar?.value } == ["name", "timeout", "retries"])
        #expect(target["retries"]?.scalar?.value == "5")
        #expect(target["timeout"]?.mark == YAMLMark(file: "t.yaml", line: 2, column: 12))
        #expect(target["retries"]?.mark == YAMLMark(file: "t.yaml", line: 7, column: 12))
    }

    @Test func mergeKeyMergesAListOfMappingsFirstOneWinning() throws {
        let text = """
            a: &a { x: 1, y: 1 }
            b: &b { y: 2, z: 2 }
            c:
              <<: [*a, *b, { w: 3 }]
              z: 9

            """
        let c = try #require(try root(text)["c"])
        #expect(c.pairs?.map { $0.key.scalar?.value } == ["x", "y", "w", "z"])
        #expect(c.pairs?.map { $0.value.scalar?.value } == ["1", "1", "3", "9"])
    }

    @Test func quotedMergeKeyIsAnOrdinaryKey() throws {
        let node = try root("\"<<\": { a: 1 }\n")
        #expect(node.pairs?.first?.key.scalar?.value == "<<")
        #expect(node["<<"]?["a"]?.scalar?.value == "1")
    }

    @Test func mergeKeysCanBeTurnedOff() throws {
        let node = try #require(try parse("<<: { a: 1 }\n", options: YAMLParser.Options(mergeKeys: false)))
        #expect(node["<<"]?["a"]?.scalar?.value == "1")
    }

    @Test func mergeKeyNeedsMappings() {
        #expect(
            parseFailure("a:\n  <<: 5\n")
                == "t.yaml:2:7: error: the merge key \"<<\" takes a mapping or a list of mappings, found \"5\""
        )
        #expect(
            parseFailure("a:\n  <<: [{ b: 1 }, [c]]\n")
                == "t.yaml:2:18: error: each element of a merge key's list must be a mapping, found a list"
        )
    }

    @Test func duplicateKeysAreErrorsAtTheSecondKey() {
        #expect(
            parseFailure("name: a\nport: 1\nname: b\n")
                == "t.yaml:3:1: error: duplicate key \"name\" (first defined at line 1, column 1)"
        )
        // Nested, in flow style, and with a quoted spelling of the same key.
        #expect(
            parseFailure("outer:\n  labels: { env: prod, \"env\": dev }\n")
                == "t.yaml:2:24: error: duplicate key \"env\" (first defined at line 2, column 13)"
        )
        #expect(
            parseFailure("? [a, b]\n: 1\n? [a, b]\n: 2\n")
                == "t.yaml:3:3: error: duplicate key (a list used as a key) (first defined at line 1, column 3)"
        )
    }

    @Test func mergedKeysAreNotDuplicates() throws {
        let node = try root("a: &a { k: 1 }\nb:\n  <<: *a\n  k: 2\n")
        #expect(node["b"]?["k"]?.scalar?.value == "2")
    }

    @Test func twoMergeKeysAreDuplicates() {
        #expect(
            parseFailure("a: &a { k: 1 }\nb:\n  <<: *a\n  <<: *a\n")
                == "t.yaml:4:3: error: duplicate key \"<<\" (first defined at line 3, column 3)"
        )
    }
}
