package import ConfigModel
import Mustache
import Support

/// One problem in a template, placed at the `{{` of the offending tag in the config file.
package struct TemplateProblem: Sendable, Hashable, CustomStringConvertible {
    /// What is wrong, for a human, e.g. `unknown variable "dag.nme" (did you mean "dag.name"?)`.
    package var message: String
    /// Where in the file.
    package var mark: SourcePosition

    /// Makes a problem.
    /// - Parameters:
    ///   - message: What is wrong.
    ///   - mark: Where.
    package init(message: String, mark: SourcePosition) {
        self.message = message
        self.mark = mark
    }

    /// `FILE:LINE:COLUMN: error: MESSAGE`, the form `check` prints.
    package var description: String { "\(self.mark): error: \(self.message)" }
}

/// Checks templates before they are used: every variable must be one ``TemplateSchema`` knows (inside sections too),
/// sections must close in order, and swift-mustache must parse the text.
///
/// Positions: a problem points at the `{{` of its tag, counted from ``TemplateSource/mark`` in Unicode scalars
/// (as libyaml counts columns), with lines ending at LF, CR LF or CR. The text is assumed to be as written in the
/// file:
/// - a plain scalar starts at `mark`; a quoted one a column later (after its quote);
/// - a block scalar (`|`) starts on the line after `mark`, and every line of it at column `mark.column`: the
///   loader must give, as the mark's column, the 1-based column where the block's content starts (its indentation
///   plus one), since libyaml's own mark is the `|`;
/// - lines after the first of a plain or quoted scalar are taken to start at column 1.
///
/// Escapes in double quotes and the line folding of `>` blocks and multi-line flow scalars change the text
/// against the file, so positions there are close but may be off.
///
/// Partials, template inheritance, delimiter changes and pragmas are refused: obwatch has no partials to offer, and a
/// pragma could switch off the format's escaping.
package enum TemplateChecker {
    /// Every problem of one template, in text order.
    /// - Parameter source: The template and where it is written.
    /// - Returns: The problems; empty when the template is good.
    package static func check(_ source: TemplateSource) -> [TemplateProblem] {
        var scan = TemplateScan(source: source)
        scan.run()
        return scan.problems
    }

    /// Every problem of a rule's `template:` (title, then text).
    /// - Parameter overrides: The rule's templates.
    package static func check(_ overrides: TemplateOverrides) -> [TemplateProblem] {
        [overrides.title, overrides.text].compactMap { $0 }.flatMap { Self.check($0) }
    }

    /// Transforms swift-mustache applies to a scalar: `{{uppercased(status)}}`.
    static let valueTransforms: Set<String> = [
        "empty", "capitalized", "lowercased", "uppercased", "reversed", "equalzero", "plusone", "minusone", "even",
        "odd",
    ]
    /// Transforms swift-mustache applies to a list.
    static let listTransforms: Set<String> = ["first", "last", "reversed", "count", "empty", "sorted"]
    /// Transforms of the position inside a list section: `{{^first()}}, {{/first()}}`.
    static let positionTransforms: Set<String> = ["first", "last", "index", "even", "odd"]
}

/// One pass over a template's text.
private struct TemplateScan {
    private enum TagKind {
        case variable, raw, section, inverted, close, comment, partial, inheritance, delimiters, pragma
    }

    private struct OpenSection {
        var name: String
        var start: Int
        var scope: TemplateSchemaNode
        var isList: Bool
    }

    let source: TemplateSource
    private let scalars: [Unicode.Scalar]
    /// For each scalar offset (and the end), its 0-based line and column inside the text.
    private var lines: [Int] = []
    private var columns: [Int] = []
    private(set) var problems: [TemplateProblem] = []
    private var open: [OpenSection] = []

    init(source: TemplateSource) {
        self.source = source
        self.scalars = Array(source.text.unicodeScalars)
        var line = 0
        var column = 0
        var previousWasCR = false
        for scalar in self.scalars {
            self.lines.append(line)
            self.columns.append(column)
            if scalar == "\n" && previousWasCR {
                // The LF of a CR LF: the CR already ended the line.
                self.lines[self.lines.count - 1] = line - 1
                self.columns[self.columns.count - 1] = self.columns[self.columns.count - 2] + 1
            } else if scalar == "\n" || scalar == "\r" {
                line += 1
                column = 0
            } else {
                column += 1
            }
            previousWasCR = scalar == "\r"
        }
        self.lines.append(line)
        self.columns.append(column)
    }

    /// The file position of the scalar at `offset`.
    func mark(at offset: Int) -> SourcePosition {
        let index = min(max(0, offset), self.lines.count - 1)
        let line = self.lines[index]
        let column = self.columns[index]
        let base = self.source.mark
        if self.source.isBlock {
            return SourcePosition(file: base.file, line: base.line + 1 + line, column: base.column + column)
        }
        if line == 0 {
            return SourcePosition(
                file: base.file,
                line: base.line,
                column: base.column + (self.source.isQuoted ? 1 : 0) + column
            )
        }
        return SourcePosition(file: base.file, line: base.line + line, column: 1 + column)
    }

    private mutating func report(_ message: String, at offset: Int) {
        self.problems.append(TemplateProblem(message: message, mark: self.mark(at: offset)))
    }

    private func find(_ needle: String, from start: Int) -> Int? {
        let pattern = Array(needle.unicodeScalars)
        guard start >= 0, self.scalars.count >= pattern.count else { return nil }
        var index = start
        while index + pattern.count <= self.scalars.count {
            if self.scalars[index..<index + pattern.count].elementsEqual(pattern) { return index }
            index += 1
        }
        return nil
    }

    private func text(_ range: Range<Int>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: self.scalars[range])
        return String(view)
    }

    mutating func run() {
        var index = 0
        var stopped = false
        while index + 1 < self.scalars.count {
            guard self.scalars[index] == "{", self.scalars[index + 1] == "{" else {
                index += 1
                continue
            }
            let start = index
            if index + 2 < self.scalars.count, self.scalars[index + 2] == "{" {
                guard let end = self.find("}}}", from: index + 3) else {
                    self.report("unclosed tag: \"{{{\" has no matching \"}}}\"", at: start)
                    stopped = true
                    break
                }
                self.tag(.raw, body: self.text(index + 3..<end), at: start)
                index = end + 3
                continue
            }
            guard let end = self.find("}}", from: index + 2) else {
                self.report("unclosed tag: \"{{\" has no matching \"}}\"", at: start)
                stopped = true
                break
            }
            let body = self.text(index + 2..<end)
            index = end + 2
            let kind: TagKind
            switch body.unicodeScalars.first {
            case "#": kind = .section
            case "^": kind = .inverted
            case "/": kind = .close
            case "!": kind = .comment
            case "&": kind = .raw
            case ">": kind = .partial
            case "<", "$": kind = .inheritance
            case "=": kind = .delimiters
            case "%": kind = .pragma
            default: kind = .variable
            }
            let name = kind == .variable ? body : String(body.unicodeScalars.dropFirst())
            if kind == .delimiters {
                self.report("changing delimiters (\"{{=...=}}\") is not supported in obwatch templates", at: start)
                stopped = true
                break
            }
            self.tag(kind, body: name, at: start)
        }
        guard !stopped else { return }
        for section in self.open {
            self.report("unclosed section \"\(section.name)\": no {{/\(section.name)}}", at: section.start)
        }
        if self.problems.isEmpty { self.checkWithMustache() }
    }

    private mutating func tag(_ kind: TagKind, body: String, at start: Int) {
        let name = body.trimmingWhitespace()
        switch kind {
        case .comment:
            return
        case .partial:
            self.report("partials (\"{{>\(name)}}\") are not supported in obwatch templates", at: start)
            return
        case .inheritance:
            self.report("template inheritance (\"{{<\" and \"{{$\") is not supported in obwatch templates", at: start)
            return
        case .pragma:
            self.report(
                "pragmas (\"{{%\(name)}}\") are not supported in obwatch templates: the receiver's format chooses "
                    + "the escaping",
                at: start
            )
            return
        case .delimiters:
            return
        case .close:
            self.close(name, at: start)
            return
        case .variable, .raw, .section, .inverted:
            break
        }
        guard !name.isEmpty else {
            self.report("empty tag: name a variable, e.g. {{summary}}", at: start)
            return
        }
        guard name.unicodeScalars.allSatisfy(Self.isNameScalar), let parsed = Self.splitTransforms(name) else {
            self.report("\"\(name)\" is not a variable name", at: start)
            return
        }
        let resolved = self.resolve(parsed.path, transforms: parsed.transforms, at: start)
        switch kind {
        case .variable, .raw:
            guard let node = resolved else { return }
            switch node {
            case .value: break
            case .list:
                self.report(
                    "\"\(name)\" is a list: use {{#\(name)}}...{{/\(name)}} to show its elements",
                    at: start
                )
            case .object, .anyKeys:
                let example = node.paths.first.map { " e.g. \"\(parsed.path == "." ? "" : parsed.path + ".")\($0)\"" }
                self.report(
                    "\"\(name)\" is an object: name one of its fields\(example.map { "," + $0 } ?? "")",
                    at: start
                )
            }
        case .section:
            let scope = resolved ?? .value
            if case .list(let element) = scope {
                self.open.append(OpenSection(name: name, start: start, scope: element, isList: true))
            } else {
                self.open.append(OpenSection(name: name, start: start, scope: scope, isList: false))
            }
        case .inverted:
            // An inverted section renders only when its value is empty: nothing new comes into scope.
            let scope = self.open.last?.scope ?? TemplateSchema.notification
            let isList = self.open.last?.isList ?? false
            self.open.append(OpenSection(name: name, start: start, scope: scope, isList: isList))
        default:
            break
        }
    }

    private mutating func close(_ name: String, at start: Int) {
        guard let position = self.open.lastIndex(where: { $0.name == name }) else {
            if let innermost = self.open.last {
                self.report(
                    "{{/\(name)}} does not match the open section \"\(innermost.name)\" (opened at "
                        + "\(self.lineAndColumn(innermost.start)))",
                    at: start
                )
            } else {
                self.report("{{/\(name)}} closes no open section", at: start)
            }
            return
        }
        if position != self.open.count - 1 {
            let innermost = self.open[self.open.count - 1]
            self.report(
                "{{/\(name)}} does not match the open section \"\(innermost.name)\" (opened at "
                    + "\(self.lineAndColumn(innermost.start)))",
                at: start
            )
        }
        self.open.removeSubrange(position...)
    }

    private func lineAndColumn(_ offset: Int) -> String {
        let mark = self.mark(at: offset)
        return "\(mark.line):\(mark.column)"
    }

    /// The scopes a name is looked up in, innermost last: the notification, then every open section's value.
    private var scopes: [TemplateSchemaNode] {
        [TemplateSchema.notification] + self.open.map(\.scope)
    }

    /// The schema node a path names after its transforms, or `nil` (and a problem) when it names nothing.
    private mutating func resolve(_ path: String, transforms: [String], at start: Int) -> TemplateSchemaNode? {
        if path.isEmpty {
            // `{{index()}}`: the position inside the innermost list section.
            guard self.open.last?.isList == true else {
                self.report("\"\(transforms.joined(separator: "("))()\" only works inside a list section", at: start)
                return nil
            }
            guard let innermost = transforms.last, TemplateChecker.positionTransforms.contains(innermost) else {
                self.reportUnknownTransform(
                    transforms.last ?? "",
                    candidates: TemplateChecker.positionTransforms,
                    at: start
                )
                return nil
            }
            return self.apply(Array(transforms.dropLast()), to: .value, at: start)
        }
        guard let node = self.lookUp(path) else {
            var message = "unknown variable \"\(path)\""
            if let suggestion = nearest(to: path, among: self.candidates()) {
                message += " (did you mean \"\(suggestion)\"?)"
            }
            self.report(message, at: start)
            return nil
        }
        return self.apply(transforms, to: node, at: start)
    }

    /// Mustache's lookup: the first segment in the innermost scope that has it, the rest strictly below it.
    private func lookUp(_ path: String) -> TemplateSchemaNode? {
        let scopes = self.scopes
        if path == "." { return scopes.last }
        if path.hasPrefix(".") {
            return Self.descend(
                path.dropFirst().split(separator: ".", omittingEmptySubsequences: false),
                from: scopes.last
            )
        }
        let segments = path.split(separator: ".", omittingEmptySubsequences: false)
        guard let first = segments.first, !segments.contains(where: \.isEmpty) else { return nil }
        for scope in scopes.reversed() {
            if case .anyKeys = scope, segments.count > 1 { continue }
            guard let child = scope.child(String(first)) else { continue }
            return Self.descend(segments.dropFirst(), from: child)
        }
        return nil
    }

    private static func descend(
        _ segments: some Sequence<Substring>,
        from node: TemplateSchemaNode?
    ) -> TemplateSchemaNode? {
        var current = node
        for segment in segments {
            guard !segment.isEmpty else { return nil }
            current = current?.child(String(segment))
        }
        return current
    }

    /// Every name a template could have meant here, innermost scope first.
    private func candidates() -> [String] {
        var seen: Set<String> = []
        var result: [String] = []
        for scope in self.scopes.reversed() {
            for path in scope.paths where seen.insert(path).inserted {
                result.append(path)
            }
        }
        return result
    }

    /// Applies transforms innermost first, as swift-mustache does.
    private mutating func apply(
        _ transforms: [String],
        to node: TemplateSchemaNode,
        at start: Int
    ) -> TemplateSchemaNode? {
        var current = node
        for transform in transforms.reversed() {
            switch current {
            case .list(let element):
                guard TemplateChecker.listTransforms.contains(transform) else {
                    self.reportUnknownTransform(transform, candidates: TemplateChecker.listTransforms, at: start)
                    return nil
                }
                switch transform {
                case "first", "last": current = element
                case "reversed", "sorted": current = .list(element)
                default: current = .value
                }
            case .value:
                guard TemplateChecker.valueTransforms.contains(transform) else {
                    self.reportUnknownTransform(transform, candidates: TemplateChecker.valueTransforms, at: start)
                    return nil
                }
            case .object, .anyKeys:
                guard transform == "count" || transform == "empty" else {
                    self.reportUnknownTransform(transform, candidates: ["count", "empty"], at: start)
                    return nil
                }
                current = .value
            }
        }
        return current
    }

    private mutating func reportUnknownTransform(_ name: String, candidates: Set<String>, at start: Int) {
        var message = "unknown transform \"\(name)\" here"
        if let suggestion = nearest(to: name, among: candidates.sorted()) {
            message += " (did you mean \"\(suggestion)\"?)"
        }
        message += "; known: " + candidates.sorted().joined(separator: ", ")
        self.report(message, at: start)
    }

    /// Runs swift-mustache's own parser for whatever the scan does not model.
    private mutating func checkWithMustache() {
        do {
            _ = try MustacheTemplate(string: self.source.text)
        } catch let error as MustacheTemplate.ParserError {
            let offset = self.offset(line: error.context.lineNumber, character: error.context.columnNumber)
            self.report("Mustache cannot parse the template: \(error.error)", at: offset)
        } catch {
            self.report("Mustache cannot parse the template: \(error)", at: 0)
        }
    }

    /// The scalar offset of a 1-based line and 1-based character column as swift-mustache counts them.
    private func offset(line: Int, character: Int) -> Int {
        var currentLine = 1
        var currentColumn = 1
        var offset = 0
        for scalarGroup in self.source.text {
            if currentLine > line || (currentLine == line && currentColumn >= character) { break }
            offset += scalarGroup.unicodeScalars.count
            if scalarGroup.isNewline {
                currentLine += 1
                currentColumn = 1
            } else {
                currentColumn += 1
            }
        }
        return offset
    }

    private static func isNameScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "0"..."9", "a"..."z", "A"..."Z", ".", "-", "_", "?", "*", "(", ")": true
        default: false
        }
    }

    /// `outer(inner(path))` as the path and the transforms, outermost first; `nil` when the brackets do not pair.
    static func splitTransforms(_ name: String) -> (path: String, transforms: [String])? {
        var transforms: [String] = []
        var rest = Substring(name)
        while let open = rest.firstIndex(of: "(") {
            let transform = rest[..<open]
            guard !transform.isEmpty, !transform.contains(")") else { return nil }
            transforms.append(String(transform))
            rest = rest[rest.index(after: open)...]
        }
        let closing = rest.reversed().prefix { $0 == ")" }.count
        guard closing == transforms.count else { return nil }
        let path = rest.dropLast(closing)
        guard !path.contains(")") else { return nil }
        return (String(path), transforms)
    }
}

extension String {
    /// The text without leading and trailing spaces, tabs and line breaks.
    fileprivate func trimmingWhitespace() -> String {
        let scalars = Array(self.unicodeScalars)
        let isSpace: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = scalars.firstIndex(where: { !isSpace($0) }),
            let last = scalars.lastIndex(where: { !isSpace($0) })
        else { return "" }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[first...last])
        return String(view)
    }
}
