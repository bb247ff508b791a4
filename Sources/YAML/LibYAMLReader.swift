import CYAML

/// The one place that talks to libyaml: a parser over a byte buffer that hands out events as Swift values.
///
/// The reader never owns the input bytes; ``withEvents(of:file:_:)`` keeps them alive and the reader inside one
/// scope, so libyaml (which does not copy its input) never sees freed memory. Each event is deleted right after it is
/// copied, and the parser is deleted when the reader goes away.
final class LibYAMLReader {
    private let parser: UnsafeMutablePointer<yaml_parser_t>
    private let event: UnsafeMutablePointer<yaml_event_t>
    private let input: UnsafeBufferPointer<UInt8>
    private let file: String
    private var failed = false
    /// libyaml's own words for the syntax error it stopped at, for ``YAMLComposer`` to explain in plain terms.
    private(set) var lastSyntaxFailure: SyntaxFailure?

    /// libyaml's problem, its context and their positions, before they are put into one message.
    struct SyntaxFailure {
        /// What libyaml found wrong, such as `did not find expected key`.
        var problem: String
        /// What it was reading, such as `while parsing a block mapping`, when it says.
        var context: String?
        /// Where the problem is.
        var mark: YAMLMark
        /// Where the construct it was reading starts, when it says.
        var contextMark: YAMLMark?
    }

    /// Takes over an initialised parser; only ``withEvents(of:file:_:)`` makes readers.
    private init(parser: UnsafeMutablePointer<yaml_parser_t>, input: UnsafeBufferPointer<UInt8>, file: String) {
        self.parser = parser
        self.event = .allocate(capacity: 1)
        self.input = input
        self.file = file
        // Non-empty by contract of `withEvents`, so the base address exists.
        if let base = input.baseAddress {
            yaml_parser_set_input_string(self.parser, base, input.count)
        }
    }

    /// Initialises the C parser before any reader exists, so `deinit` only ever sees a parser to delete.
    private static func make(input: UnsafeBufferPointer<UInt8>, file: String) throws(YAMLError) -> LibYAMLReader {
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        guard yaml_parser_initialize(parser) == 1 else {
            parser.deallocate()
            throw YAMLError(code: .parserFailure, message: "libyaml could not start (out of memory)", file: file)
        }
        return LibYAMLReader(parser: parser, input: input, file: file)
    }

    deinit {
        yaml_parser_delete(self.parser)
        self.parser.deallocate()
        self.event.deallocate()
    }

    /// Runs `body` with a reader over `bytes`, which stay alive (and unmoved) for the whole call.
    /// - Parameters:
    ///   - bytes: The YAML text; must not be empty (libyaml refuses a null input pointer).
    ///   - file: The file name for marks and messages.
    ///   - body: What to do with the events.
    static func withEvents<R>(
        of bytes: [UInt8],
        file: String,
        _ body: (LibYAMLReader) throws(YAMLError) -> R
    ) throws(YAMLError) -> R {
        let result = bytes.withUnsafeBufferPointer { buffer -> Result<R, YAMLError> in
            do throws(YAMLError) {
                // The reader lives only inside this closure, where the buffer is valid.
                let reader = try LibYAMLReader.make(input: buffer, file: file)
                return .success(try body(reader))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// The next event.
    /// - Throws: ``YAMLError`` with libyaml's problem text and position when the text is not valid YAML.
    func next() throws(YAMLError) -> LibYAMLEvent {
        guard !self.failed else {
            throw YAMLError(
                code: .parserFailure,
                message: "libyaml was asked to continue after an error",
                file: self.file
            )
        }
        guard yaml_parser_parse(self.parser, self.event) == 1 else {
            self.failed = true
            throw self.parseError()
        }
        defer { yaml_event_delete(self.event) }
        return self.convert(self.event.pointee)
    }

    private func convert(_ event: yaml_event_t) -> LibYAMLEvent {
        let mark = self.mark(event.start_mark)
        switch event.type {
        case YAML_STREAM_START_EVENT:
            return LibYAMLEvent(kind: .streamStart, mark: mark)
        case YAML_DOCUMENT_START_EVENT:
            return LibYAMLEvent(kind: .documentStart, mark: mark)
        case YAML_DOCUMENT_END_EVENT:
            return LibYAMLEvent(kind: .documentEnd, mark: mark)
        case YAML_ALIAS_EVENT:
            return LibYAMLEvent(kind: .alias(anchor: Self.string(event.data.alias.anchor) ?? ""), mark: mark)
        case YAML_SCALAR_EVENT:
            let data = event.data.scalar
            let value: String
            if let bytes = data.value, data.length > 0 {
                // By length, not NUL-terminated: a double-quoted "\0" puts a NUL inside the value.
                value = String(decoding: UnsafeBufferPointer(start: bytes, count: Int(data.length)), as: UTF8.self)
            } else {
                value = ""
            }
            let scalar = YAMLScalar(value: value, style: Self.style(data.style))
            return LibYAMLEvent(
                kind: .scalar(scalar, tag: Self.string(data.tag), anchor: Self.string(data.anchor)),
                mark: mark
            )
        case YAML_SEQUENCE_START_EVENT:
            let data = event.data.sequence_start
            return LibYAMLEvent(
                kind: .sequenceStart(tag: Self.string(data.tag), anchor: Self.string(data.anchor)),
                mark: mark,
                isFlow: data.style == YAML_FLOW_SEQUENCE_STYLE
            )
        case YAML_SEQUENCE_END_EVENT:
            return LibYAMLEvent(kind: .sequenceEnd, mark: mark)
        case YAML_MAPPING_START_EVENT:
            let data = event.data.mapping_start
            return LibYAMLEvent(
                kind: .mappingStart(tag: Self.string(data.tag), anchor: Self.string(data.anchor)),
                mark: mark,
                isFlow: data.style == YAML_FLOW_MAPPING_STYLE
            )
        case YAML_MAPPING_END_EVENT:
            return LibYAMLEvent(kind: .mappingEnd, mark: mark)
        default:
            // libyaml ends every stream with STREAM-END; an empty event can only mean the stream is over.
            return LibYAMLEvent(kind: .streamEnd, mark: mark)
        }
    }

    private func mark(_ mark: yaml_mark_t) -> YAMLMark {
        YAMLMark(file: self.file, line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        guard let pointer else { return nil }
        return String(cString: pointer)
    }

    private static func style(_ style: yaml_scalar_style_t) -> YAMLScalar.Style {
        switch style {
        case YAML_SINGLE_QUOTED_SCALAR_STYLE: .singleQuoted
        case YAML_DOUBLE_QUOTED_SCALAR_STYLE: .doubleQuoted
        case YAML_LITERAL_SCALAR_STYLE: .literal
        case YAML_FOLDED_SCALAR_STYLE: .folded
        default: .plain
        }
    }

    private func parseError() -> YAMLError {
        let parser = self.parser.pointee
        let problem = parser.problem.map { String(cString: $0) } ?? "unknown problem"
        switch parser.error {
        case YAML_MEMORY_ERROR:
            return YAMLError(code: .parserFailure, message: "libyaml ran out of memory", file: self.file)
        case YAML_READER_ERROR:
            // Reader errors carry a byte offset instead of a mark.
            var message = problem
            if parser.problem_value >= 0 {
                message += " (0x" + Self.hex(parser.problem_value) + ")"
            }
            return YAMLError(code: .syntax, message: message, at: self.markOfByte(Int(parser.problem_offset)))
        default:
            let mark = self.mark(parser.problem_mark)
            var message = problem
            var contextMark: YAMLMark?
            let context = parser.context.map { String(cString: $0) }
            if let context {
                let start = self.mark(parser.context_mark)
                contextMark = start
                if start == mark {
                    message += " (\(context))"
                } else {
                    message += " (\(context) at line \(start.line), column \(start.column))"
                }
            }
            if problem == "found character that cannot start any token", self.character(at: mark) == UInt8(ascii: "\t")
            {
                message += "; YAML does not allow tabs for indentation, use spaces"
            }
            self.lastSyntaxFailure = SyntaxFailure(
                problem: problem,
                context: context,
                mark: mark,
                contextMark: contextMark
            )
            return YAMLError(code: .syntax, message: message, at: mark, contextMark: contextMark)
        }
    }

    private static func hex(_ value: Int32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return digits.count < 2 ? "0" + digits : digits
    }

    /// The mark of a byte offset, counted the way libyaml counts: lines end at LF, CRLF or CR, columns count
    /// Unicode scalars, and a leading byte order mark takes no column.
    private func markOfByte(_ offset: Int) -> YAMLMark {
        var result = YAMLMark(file: self.file, line: 1, column: 1)
        self.walkCharacters { index, line, column in
            result = YAMLMark(file: self.file, line: line, column: column)
            return index < offset
        }
        return result
    }

    /// The text of line `number` (1-based, without its line break), as libyaml counts lines; empty past the end.
    func lineText(_ number: Int) -> String {
        var start: Int?
        var end = self.input.count
        self.walkCharacters { index, line, _ in
            if line == number, start == nil { start = index }
            if line > number {
                end = index
                return false
            }
            return true
        }
        guard let start else { return "" }
        var text = String(decoding: UnsafeBufferPointer(rebasing: self.input[start..<max(start, end)]), as: UTF8.self)
        while let last = text.unicodeScalars.last, last == "\n" || last == "\r" {
            text.unicodeScalars.removeLast()
        }
        return text
    }

    /// The first byte of the character at a mark, to tell what libyaml tripped on.
    private func character(at mark: YAMLMark) -> UInt8? {
        var found: UInt8?
        self.walkCharacters { index, line, column in
            if line == mark.line, column == mark.column, index < self.input.count {
                found = self.input[index]
                return false
            }
            return line <= mark.line
        }
        return found
    }

    /// Calls `visit` with the byte index, line and column of each character, then once more for the end of the input,
    /// until `visit` returns `false`.
    private func walkCharacters(_ visit: (_ index: Int, _ line: Int, _ column: Int) -> Bool) {
        var line = 1
        var column = 1
        var index = self.input.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        while index < self.input.count {
            guard visit(index, line, column) else { return }
            let byte = self.input[index]
            index += 1
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                if byte == UInt8(ascii: "\r"), index < self.input.count, self.input[index] == UInt8(ascii: "\n") {
                    index += 1
                }
                line += 1
                column = 1
                continue
            }
            // Skip the continuation bytes of a multi-byte character: it is one column.
            while index < self.input.count, self.input[index] & 0xC0 == 0x80 { index += 1 }
            column += 1
        }
        _ = visit(index, line, column)
    }
}
