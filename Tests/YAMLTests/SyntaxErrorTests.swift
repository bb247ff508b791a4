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
                + "(while scanning a plain scalar at line 2, column 6)"
        )
        // Tabs that only separate tokens are fine.
        #expect(parseFailure("a:\tb\nc: [1,\t2]\n") == nil)
    }

    @Test func tabAsIndentationOfAListItem() {
        #expect(
            parseFailure("a:\n  - x\n\t- y\n")
                == "t.yaml:3:1: error: found a tab character that violates indentation "
                + "(while scanning a plain scalar at line 2, column 5)"
        )
    }

    @Test func unterminatedDoubleQuote() {
        #expect(
            parseFailure("name: \"abc\nx: 1\n")
                == "t.yaml:3:1: error: found unexpected end of stream (while scanning a quoted scalar at line 1, column 7)"
        )
    }

    @Test func unterminatedSingleQuote() {
        #expect(
            parseFailure("a: 'abc\n")
                == "t.yaml:2:1: error: found unexpected end of stream (while scanning a quoted scalar at line 1, column 4)"
        )
    }

    @Test func badIndentation() {
        #expect(
            parseFailure("a:\n  b: 1\n c: 2\n")
                == "t.yaml:3:2: error: did not find expected key (while parsing a block mapping at line 1, column 1)"
        )
    }

    @Test func mappingValueInPlainScalar() {
        #expect(parseFailure("a: b: c\n") == "t.yaml:1:5: error: mapping values are not allowed in this context")
    }

    @Test func unclosedFlowSequence() {
        // In a flow sequence "2" and "b" fold into one scalar, so libyaml trips on the ":" after "b".
        #expect(
            parseFailure("a: [1, 2\nb: 3\n")
                == "t.yaml:2:2: error: did not find expected ',' or ']' (while parsing a flow sequence at line 1, column 4)"
        )
    }

    @Test func columnAfterMultiByteCharacters() {
        // é, € and 😀 take 2, 3 and 4 bytes but one column each: the stray } is the 10th character.
        #expect(
            parseFailure("é€😀: [1, }\n")
                == "t.yaml:1:10: error: did not find expected node content (while parsing a flow node)"
        )
        #expect(
            parseFailure("ключ: значение\nx: \"😀😀\n")
                == "t.yaml:3:1: error: found unexpected end of stream (while scanning a quoted scalar at line 2, column 4)"
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
                error.message == "found unexpected end of stream (while scanning a quoted scalar at line 1, column 7)"
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
}
