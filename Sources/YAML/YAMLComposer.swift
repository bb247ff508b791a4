/// Builds the node tree from libyaml's events: resolves aliases (within limits), applies merge keys, rejects duplicate
/// keys and second documents.
struct YAMLComposer {
    /// A node and what it costs when an alias copies it.
    private struct Composed {
        var node: YAMLNode
        /// How many nodes the subtree holds, counting everything its own aliases expanded to.
        var count: Int
        /// How many levels of lists and mappings the subtree holds (a scalar holds none).
        var height: Int
    }

    private static let mergeTag = "tag:yaml.org,2002:merge"

    private let reader: LibYAMLReader
    private let options: YAMLParser.Options
    private var anchors: [String: Composed] = [:]
    /// Anchors whose node is still being built: an alias to one of them would make the tree contain itself.
    private var openAnchors: Set<String> = []
    private var expandedNodes = 0
    /// The collections being built, outermost first: at a syntax error, where the parser was.
    private var open: [OpenCollection] = []
    /// The starts of flow collections (`[...]`, `{...}`), whose indentation means nothing.
    private var flowMarks: Set<YAMLMark> = []

    /// A collection being built, and how far it got.
    private struct OpenCollection {
        var isMapping: Bool
        var isFlow: Bool
        var mark: YAMLMark
        /// Where it sits, such as `receivers[0].webhook`; empty for the root.
        var path: String
        /// The key whose value is being read.
        var pendingKey: YAMLNode?
        /// The last complete value.
        var lastValue: YAMLNode?
        /// The key of ``lastValue`` in a mapping.
        var lastKey: YAMLNode?
        /// How many elements a sequence has so far.
        var count = 0
    }

    init(reader: LibYAMLReader, options: YAMLParser.Options) {
        self.reader = reader
        self.options = options
    }

    /// Reads the whole stream.
    /// - Returns: The document's root, or `nil` when the stream has no document or an empty one.
    mutating func composeStream() throws(YAMLError) -> YAMLNode? {
        do {
            return try self.composeDocument()
        } catch {
            throw self.explained(error)
        }
    }

    private mutating func composeDocument() throws(YAMLError) -> YAMLNode? {
        var event = try self.reader.next()
        if case .streamStart = event.kind { event = try self.reader.next() }
        guard case .documentStart = event.kind else { return nil }
        let root = try self.compose(try self.reader.next(), depth: 1).node
        event = try self.reader.next()
        if case .documentEnd = event.kind { event = try self.reader.next() }
        if case .documentStart = event.kind {
            throw YAMLError(
                code: .multipleDocuments,
                message: "a second YAML document starts here; this file must hold exactly one document",
                at: event.mark
            )
        }
        if root.tag == nil, let scalar = root.scalar, scalar.style == .plain, scalar.value.isEmpty {
            return nil
        }
        return root
    }

    private mutating func compose(_ event: LibYAMLEvent, depth: Int) throws(YAMLError) -> Composed {
        switch event.kind {
        case .alias(let anchor):
            return try self.resolve(alias: anchor, at: event.mark, depth: depth)
        case .scalar(let scalar, let tag, let anchor):
            let composed = Composed(node: YAMLNode(.scalar(scalar), tag: tag, mark: event.mark), count: 1, height: 0)
            if let anchor { self.anchors[anchor] = composed }
            return composed
        case .sequenceStart(let tag, let anchor):
            try self.checkDepth(depth, at: event.mark)
            if let anchor { self.openAnchors.insert(anchor) }
            self.push(isMapping: false, event: event)
            var elements: [YAMLNode] = []
            var count = 1
            var height = 0
            while true {
                let next = try self.reader.next()
                if case .sequenceEnd = next.kind { break }
                let element = try self.compose(next, depth: depth + 1)
                elements.append(element.node)
                self.open[self.open.count - 1].lastValue = element.node
                self.open[self.open.count - 1].count += 1
                count += element.count
                height = max(height, element.height)
            }
            // Popped only when complete: after a syntax error the stack still shows where the parser was.
            self.open.removeLast()
            let composed = Composed(
                node: YAMLNode(.sequence(elements), tag: tag, mark: event.mark),
                count: count,
                height: height + 1
            )
            if let anchor {
                self.openAnchors.remove(anchor)
                self.anchors[anchor] = composed
            }
            return composed
        case .mappingStart(let tag, let anchor):
            try self.checkDepth(depth, at: event.mark)
            if let anchor { self.openAnchors.insert(anchor) }
            self.push(isMapping: true, event: event)
            let composed = try self.composeMapping(tag: tag, mark: event.mark, depth: depth)
            self.open.removeLast()
            if let anchor {
                self.openAnchors.remove(anchor)
                self.anchors[anchor] = composed
            }
            return composed
        case .streamStart, .streamEnd, .documentStart, .documentEnd, .sequenceEnd, .mappingEnd:
            // libyaml's parser only emits these where a node cannot stand; report rather than trust that.
            throw YAMLError(code: .syntax, message: "expected a node", at: event.mark)
        }
    }

    /// Notes a collection that starts, at the path its parent gives it.
    private mutating func push(isMapping: Bool, event: LibYAMLEvent) {
        if event.isFlow { self.flowMarks.insert(event.mark) }
        self.open.append(
            OpenCollection(isMapping: isMapping, isFlow: event.isFlow, mark: event.mark, path: self.childPath())
        )
    }

    /// The path of the node the innermost open collection reads next: `parent.key` or `parent[index]`.
    private func childPath() -> String {
        guard let parent = self.open.last else { return "" }
        if parent.isMapping { return Self.join(parent.path, parent.pendingKey?.scalar?.value ?? "?") }
        return parent.path + "[\(parent.count)]"
    }

    /// `path.key`, or `key` at the root.
    private static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : path + "." + key
    }

    /// A syntax error from libyaml with plain words beside it, when the open collections tell more.
    private func explained(_ error: YAMLError) -> YAMLError {
        guard error.code == .syntax, let failure = self.reader.lastSyntaxFailure, failure.mark == error.mark else {
            return error
        }
        let innermost = self.open.last
        let explanation = SyntaxExplanation(
            failure: failure,
            line: self.reader.lineText(failure.mark.line),
            blocks: self.candidateBlocks(),
            insideFlow: innermost?.isFlow ?? false,
            pendingKey: innermost?.pendingKey?.mark,
            lastValue: innermost?.lastValue.map { value in
                SyntaxExplanation.LastValue(mark: value.mark, style: value.scalar?.style)
            }
        )
        guard let text = explanation.text else { return error }
        var explainedError = error
        explainedError.message += "; " + text
        return explainedError
    }

    /// The block collections a misplaced line may have been meant for, innermost first: the ones that just closed
    /// (the last value of the innermost open collection, its last value, ...), then the open ones.
    private func candidateBlocks() -> [SyntaxExplanation.Block] {
        var closed: [SyntaxExplanation.Block] = []
        var next: (node: YAMLNode, path: String)?
        if let innermost = self.open.last, let value = innermost.lastValue {
            // The path of the value last read: the one the next value would have, one step back.
            let path =
                innermost.isMapping
                ? Self.join(innermost.path, innermost.lastKey?.scalar?.value ?? "?")
                : innermost.path + "[\(innermost.count - 1)]"
            next = (value, path)
        }
        while case let (node, path)? = next, node.aliasMark == nil, !self.flowMarks.contains(node.mark) {
            switch node.content {
            case .scalar:
                next = nil
            case .mapping(let pairs):
                closed.append(SyntaxExplanation.Block(kind: .mapping, column: node.mark.column, path: path))
                next = pairs.last.map { ($0.value, Self.join(path, $0.key.scalar?.value ?? "?")) }
            case .sequence(let elements):
                closed.append(SyntaxExplanation.Block(kind: .sequence, column: node.mark.column, path: path))
                next = elements.last.map { ($0, path + "[\(elements.count - 1)]") }
            }
        }
        let open = self.open.reversed().filter { !$0.isFlow }.map { collection in
            SyntaxExplanation.Block(
                kind: collection.isMapping ? .mapping : .sequence,
                column: collection.mark.column,
                path: collection.path
            )
        }
        return closed.reversed() + open
    }

    private func checkDepth(_ depth: Int, at mark: YAMLMark) throws(YAMLError) {
        guard depth <= self.options.maxDepth else {
            throw YAMLError(
                code: .tooDeep,
                message: "lists and mappings are nested more than \(self.options.maxDepth) levels deep",
                at: mark
            )
        }
    }

    private mutating func resolve(alias anchor: String, at mark: YAMLMark, depth: Int) throws(YAMLError) -> Composed {
        guard let target = self.anchors[anchor] else {
            let message =
                self.openAnchors.contains(anchor)
                ? "alias \"*\(anchor)\" refers to the node that contains it"
                : "unknown alias \"*\(anchor)\": no anchor \"&\(anchor)\" is defined before it"
            throw YAMLError(code: .unknownAlias, message: message, at: mark)
        }
        self.expandedNodes += target.count
        guard self.expandedNodes <= self.options.maxAliasExpansion else {
            throw YAMLError(
                code: .aliasLimit,
                message:
                    "too many nodes copied through aliases (more than \(self.options.maxAliasExpansion)) "
                    + "at alias \"*\(anchor)\"",
                at: mark
            )
        }
        // The copy lands `depth - 1` levels down, so the tree may grow deeper than any single anchored node.
        guard depth - 1 + target.height <= self.options.maxDepth else {
            throw YAMLError(
                code: .tooDeep,
                message:
                    "alias \"*\(anchor)\" nests lists and mappings more than \(self.options.maxDepth) levels deep",
                at: mark
            )
        }
        var copy = target
        copy.node.aliasMark = mark
        return copy
    }

    /// One entry of a mapping being built: an ordinary pair, or the pairs a merge key brings in.
    private enum Entry {
        case pair(YAMLNode.Pair)
        case merge([YAMLNode.Pair])
    }

    private mutating func composeMapping(tag: String?, mark: YAMLMark, depth: Int) throws(YAMLError) -> Composed {
        var entries: [Entry] = []
        var firstKeyMarks: [String: YAMLMark] = [:]
        var count = 1
        var height = 0
        while true {
            let next = try self.reader.next()
            if case .mappingEnd = next.kind { break }
            let key = try self.compose(next, depth: depth + 1)
            self.open[self.open.count - 1].pendingKey = key.node
            let value = try self.compose(try self.reader.next(), depth: depth + 1)
            self.open[self.open.count - 1].lastValue = value.node
            self.open[self.open.count - 1].lastKey = key.node
            self.open[self.open.count - 1].pendingKey = nil
            count += key.count + value.count
            height = max(height, key.height, value.height)

            let identity = Self.identity(of: key.node)
            if let first = firstKeyMarks[identity] {
                throw YAMLError(
                    code: .duplicateKey,
                    message:
                        "duplicate key \(Self.display(key: key.node)) "
                        + "(first defined at line \(first.line), column \(first.column))",
                    at: key.node.mark
                )
            }
            firstKeyMarks[identity] = key.node.mark
            if self.options.mergeKeys, Self.isMergeKey(key.node) {
                entries.append(.merge(try Self.mergedPairs(from: value.node)))
            } else {
                entries.append(.pair(YAMLNode.Pair(key: key.node, value: value.node)))
            }
        }

        // Keys written in this mapping win over merged ones; among merged mappings the first one listed wins.
        var taken = Set<String>()
        for case .pair(let pair) in entries { taken.insert(Self.identity(of: pair.key)) }
        var pairs: [YAMLNode.Pair] = []
        for entry in entries {
            switch entry {
            case .pair(let pair):
                pairs.append(pair)
            case .merge(let merged):
                for pair in merged where taken.insert(Self.identity(of: pair.key)).inserted {
                    pairs.append(pair)
                }
            }
        }
        return Composed(node: YAMLNode(.mapping(pairs), tag: tag, mark: mark), count: count, height: height + 1)
    }

    private static func isMergeKey(_ key: YAMLNode) -> Bool {
        guard let scalar = key.scalar, scalar.value == "<<" else { return false }
        return key.tag == Self.mergeTag || (key.tag == nil && scalar.style == .plain)
    }

    /// The pairs a merge key's value brings in, earlier mappings of a list winning over later ones.
    private static func mergedPairs(from value: YAMLNode) throws(YAMLError) -> [YAMLNode.Pair] {
        switch value.content {
        case .mapping(let pairs):
            return pairs
        case .sequence(let elements):
            var merged: [YAMLNode.Pair] = []
            var seen = Set<String>()
            for element in elements {
                guard let pairs = element.pairs else {
                    throw YAMLError(
                        code: .invalidMerge,
                        message: "each element of a merge key's list must be a mapping, found \(element.foundText)",
                        at: element.mark
                    )
                }
                for pair in pairs where seen.insert(Self.identity(of: pair.key)).inserted {
                    merged.append(pair)
                }
            }
            return merged
        case .scalar:
            throw YAMLError(
                code: .invalidMerge,
                message: "the merge key \"<<\" takes a mapping or a list of mappings, found \(value.foundText)",
                at: value.mark
            )
        }
    }

    /// A text that two keys share exactly when they are the same key: scalars compare by their text whatever their
    /// style (`port` and `"port"` are one key); lists and mappings compare by content. Lengths keep it unambiguous.
    static func identity(of node: YAMLNode) -> String {
        switch node.content {
        case .scalar(let scalar):
            return "s\(scalar.value.utf8.count):\(scalar.value)"
        case .sequence(let elements):
            return "[" + elements.map { Self.identity(of: $0) }.joined() + "]"
        case .mapping(let pairs):
            return "{" + pairs.map { Self.identity(of: $0.key) + Self.identity(of: $0.value) }.joined() + "}"
        }
    }

    private static func display(key: YAMLNode) -> String {
        switch key.content {
        case .scalar(let scalar): YAMLNode.quote(scalar.value)
        case .sequence: "(a list used as a key)"
        case .mapping: "(a mapping used as a key)"
        }
    }
}
