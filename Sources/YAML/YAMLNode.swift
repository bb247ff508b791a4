/// One node of a parsed YAML document: a scalar, a sequence or a mapping, with the position where it starts.
///
/// Aliases are already resolved: an alias is a copy of the node its anchor names, which keeps the anchor's position
/// in ``mark`` and records the alias's own position in ``aliasMark``. Merge keys (`<<`) are already applied to
/// mappings. The tree is an immutable value, safe to share between tasks.
package struct YAMLNode: Sendable, Hashable {
    /// What a node holds.
    package enum Content: Sendable, Hashable {
        /// A scalar: its text and style.
        case scalar(YAMLScalar)
        /// A sequence (a list), its elements in document order.
        case sequence([YAMLNode])
        /// A mapping, its entries in document order, keys unique.
        case mapping([Pair])
    }

    /// One entry of a mapping.
    package struct Pair: Sendable, Hashable {
        /// The key node, usually a scalar.
        package var key: YAMLNode
        /// The value node.
        package var value: YAMLNode

        /// Makes an entry.
        /// - Parameters:
        ///   - key: The key node.
        ///   - value: The value node.
        package init(key: YAMLNode, value: YAMLNode) {
            self.key = key
            self.value = value
        }
    }

    /// The node's content.
    package var content: Content
    /// The explicit tag as libyaml resolved it (`!!str` becomes `tag:yaml.org,2002:str`, `!local` stays as written),
    /// or `nil` when the node has none.
    package var tag: String?
    /// Where the node starts: its anchor or tag if it has one, its opening quote or bracket, or its first character.
    package var mark: YAMLMark
    /// Where the alias that produced this copy stands, when the node came from an alias.
    package var aliasMark: YAMLMark?

    /// Makes a node.
    /// - Parameters:
    ///   - content: What the node holds.
    ///   - tag: Its explicit tag, if any.
    ///   - mark: Where it starts.
    ///   - aliasMark: Where the alias that produced it stands, if any.
    package init(_ content: Content, tag: String? = nil, mark: YAMLMark, aliasMark: YAMLMark? = nil) {
        self.content = content
        self.tag = tag
        self.mark = mark
        self.aliasMark = aliasMark
    }

    /// The scalar, if this node is one.
    package var scalar: YAMLScalar? {
        if case .scalar(let scalar) = self.content { return scalar }
        return nil
    }

    /// The elements, if this node is a sequence.
    package var elements: [YAMLNode]? {
        if case .sequence(let elements) = self.content { return elements }
        return nil
    }

    /// The entries, if this node is a mapping.
    package var pairs: [Pair]? {
        if case .mapping(let pairs) = self.content { return pairs }
        return nil
    }

    /// The value whose key is the scalar `key`, if this node is a mapping that has it.
    package subscript(key: String) -> YAMLNode? {
        self.pairs?.first { $0.key.scalar?.value == key }?.value
    }
}
