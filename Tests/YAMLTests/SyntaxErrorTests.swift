import Testing
import YAML

@Suite struct SyntaxErrorTests {
    @Test func tabAsIndentationOfAKey() {
        #expect(
            parseFailure("a:\n\tb: 1\n")
                == "t.yaml:2:1: error: found character that cannot start any token (while scanning for the next token); "
                + "YAML does not allow tabs for indentation, use spaces"
        )
    }

    @Test func tabAfterSpacesInIndentation() {
        #expect(
            parseFailure("a:\n  b: 1\n  \tc: 2\n")
                == "t.yaml:3:3: error: found a tab character that violates indentation "
                + "(while scanning a plain scalar at line 2, column 6); indent with spaces only"
        )
        // Tabs that only separate tokens are fine.
        #expect(parseFailure("a:\tb\nc: [1,\t2]\n") == nil)
    }

    @Test func tabAsIndentationOfAListItem() {
        #expect(
            parseFailure("a:\n  - x\n\t- y\n")
                == "t.yaml:3:1: error: found a tab character that violates indentation "
                + "(while scanning a plain scalar at line 2, column 5); indent with spaces only"
        )
    }

    @Test func unterminatedDoubleQuote() {
        #expect(
            parseFailure("name: \"abc\nx: 1\n")
                == "t.yaml:3:1: error: found unexpected end of stream (while scanning a quoted scalar at line 1, column 7); "
                + "the quote at line 1, column 7 is never closed"
        )
    }

    @Test func unterminatedSingleQuote() {
        #expect(
            parseFailure("a: 'abc\n")
                == "t.yaml:2:1: error: found unexpected end of stream (while scanning a quoted scalar at line 1, column 4); "
                + "the quote at line 1, column 4 is never closed"
        )
    }

    @Test func badIndentation() {
        #expect(
            parseFailure("a:\n  b: 1\n c: 2\n")
                == "t.yaml:3:2: error: did not find expected key (while parsing a block mapping at line 1, column 1); "
                + "a key at the wrong indentation: keys of \"a\" start at column 3, keys of the top level at column 1"
        )
    }

    @Test func mappingValueInPlainScalar() {
        #expect(
            parseFailure("a: b: c\n")
                == "t.yaml:1:5: error: mapping values are not allowed in this context; a plain value cannot hold "
                + "\": \"; put the value in quotes, or move the mapping it starts to its own lines below the key"
        )
    }

    @Test func unclosedFlowSequence() {
        // In a flow sequence "2" and "b" fold into one scalar, so libyaml trips on the ":" after "b".
        #expect(
            parseFailure("a: [1, 2\nb: 3\n")
                == "t.yaml:2:2: error: did not find expected ',' or ']' (while parsing a flow sequence at line 1, column 4); "
                + "the \"[\" at line 1, column 4 is not closed"
        )
    }

    @Test func columnAfterMultiByteCharacters() {
        // é, € and 😀 take 2, 3 and 4 bytes but one column each: the stray } is the 10th character.
        #expect(
            parseFailure("é€😀: [1, }\n")
                == "t.yaml:1:10: error: did not find expected node content (while parsing a flow node); "
                + "a value is missing here, or starts with a character that needs quotes"
        )
        #expect(
            parseFailure("ключ: значение\nx: \"😀😀\n")
                == "t.yaml:3:1: error: found unexpected end of stream (while scanning a quoted scalar at line 2, column 4); "
                + "the quote at line 2, column 4 is never closed"
        )
    }

    @Test func invalidUTF8IsPlacedByCharacters() throws {
        let bytes = Array("é: ok\nü€: ".utf8) + [0xFF, 0x0A]
        do {
            _ = try YAMLParser().parse(bytes: bytes, file: "t.yaml")
            Issue.record("invalid UTF-8 was accepted")
        } catch {
            #expect(error.description == "t.yaml:2:5: error: invalid leading UTF-8 octet (0xFF)")
            #expect(error.code == .syntax)
        }
    }

    @Test func controlCharacterIsRefused() {
        #expect(parseFailure("a: 1\n\u{01}\n") == "t.yaml:2:1: error: control characters are not allowed (0x01)")
    }

    @Test func syntaxErrorCarriesContextMark() throws {
        do {
            _ = try parse("name: \"abc\n")
            Issue.record("unterminated quote was accepted")
        } catch {
            #expect(error.code == .syntax)
            #expect(error.mark == YAMLMark(file: "t.yaml", line: 2, column: 1))
            #expect(error.contextMark == YAMLMark(file: "t.yaml", line: 1, column: 7))
            #expect(
                error.message
                    == "found unexpected end of stream (while scanning a quoted scalar at line 1, column 7); "
                    + "the quote at line 1, column 7 is never closed"
            )
        }
    }

    @Test func unreadableFileNamesTheFile() {
        do {
            _ = try YAMLParser().parse(contentsOfFile: "/nonexistent/obwatch.yaml")
            Issue.record("a missing file was read")
        } catch {
            #expect(error.code == .unreadable)
            #expect(
                error.description == "/nonexistent/obwatch.yaml: error: cannot read the file: No such file or directory"
            )
        }
        do {
            _ = try YAMLParser().parse(contentsOfFile: "/")
            Issue.record("a directory was read")
        } catch {
            #expect(error.description == "/: error: cannot read the file: Is a directory")
        }
    }

    /// A misplaced line, and the block libyaml's error is explained by.
    struct Misplaced: Sendable, CustomTestStringConvertible {
        let name: String
        let text: String
        let expected: String
        var testDescription: String { self.name }
    }

    static let misplaced: [Misplaced] = [
        Misplaced(
            name: "a key between two mappings' columns",
            text: "a:\n  b: 1\n c: 2\n",
            expected:
                "t.yaml:3:2: error: did not find expected key (while parsing a block mapping at line 1, column 1); "
                + "a key at the wrong indentation: keys of \"a\" start at column 3, keys of the top level at column 1"
        ),
        Misplaced(
            name: "a key indented deeper than its neighbours runs on from the value above",
            text: "receivers:\n  - name: x\n    webhook:\n      format: generic\n        url: http://x\n",
            expected: "t.yaml:5:12: error: mapping values are not allowed in this context; "
                + "a key at the wrong indentation: keys of \"receivers[0].webhook\" start at column 7"
        ),
        Misplaced(
            name: "a list item left of its list",
            text: "receivers:\n  - name: a\n    webhook: {}\n - name: b\n",
            expected:
                "t.yaml:4:2: error: did not find expected key (while parsing a block mapping at line 1, column 1); "
                + "a list item at the wrong indentation: items of \"receivers\" start with \"-\" at column 3"
        ),
        Misplaced(
            name: "a key of a list item at the list's column",
            text: "rules:\n  - name: a\n    match: x\n  notify: [x]\n",
            expected:
                "t.yaml:4:3: error: did not find expected '-' indicator (while parsing a block collection at line 2, "
                + "column 3); a key at the wrong indentation: keys of \"rules[0]\" start at column 5, keys of the top "
                + "level at column 1"
        ),
        Misplaced(
            name: "a key one column short of its mapping's",
            text: "a:\n  b:\n    c: 1\n   d: 2\n",
            expected:
                "t.yaml:4:4: error: did not find expected key (while parsing a block mapping at line 2, column 3); "
                + "a key at the wrong indentation: keys of \"a.b\" start at column 5, keys of \"a\" at column 3"
        ),
        Misplaced(
            name: "a list item in a mapping",
            text: "a:\n  b: 1\n  - c\n",
            expected:
                "t.yaml:3:3: error: did not find expected key (while parsing a block mapping at line 2, column 3); "
                + "a list item where a key was expected (keys of \"a\" start at column 3)"
        ),
        Misplaced(
            name: "a line with no colon",
            text: "a: 1\nb\nc: 2\n",
            expected:
                "t.yaml:3:1: error: could not find expected ':' (while scanning a simple key at line 2, column 1); "
                + "line 2 is not \"key: value\": it has no \":\" (or, if it continues a value, it needs more indentation)"
        ),
        Misplaced(
            name: "a list on its key's line",
            text: "a: - b\n",
            expected: "t.yaml:1:4: error: block sequence entries are not allowed in this context; "
                + "a list starts on the line after its key, each \"- \" item on a line of its own"
        ),
        Misplaced(
            name: "text after a quoted value",
            text: "a: \"x\" y\n",
            expected:
                "t.yaml:1:8: error: did not find expected key (while parsing a block mapping at line 1, column 1); "
                + "more text follows a complete value on this line; put the whole value in quotes"
        ),
        Misplaced(
            name: "a value starting with @",
            text: "a: @x\n",
            expected:
                "t.yaml:1:4: error: found character that cannot start any token (while scanning for the next token); "
                + "a value cannot start with \"@\"; put it in quotes"
        ),
    ]

    @Test(arguments: Self.misplaced)
    func misplacedLineIsExplained(_ misplaced: Misplaced) {
        #expect(parseFailure(misplaced.text) == misplaced.expected)
    }
}
