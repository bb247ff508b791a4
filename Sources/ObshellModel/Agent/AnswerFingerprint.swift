/// What tells whether the `data` of a list answer is byte for byte the one of the previous poll, without keeping
/// those bytes: its length and a 64-bit SipHash of it.
///
/// Most polls of an agent return exactly the list they returned last time (only the envelope's `timestamp`,
/// `duration` and `traceId` change), and decoding DAGs with their nodes, sub-tasks and logs is most of a poll's work.
/// Two different lists of the same length share a hash with a chance of 2⁻⁶⁴ per poll.
package struct AnswerFingerprint: Hashable, Sendable {
    var length: Int
    var hash: Int

    /// The fingerprint of the top-level member `key` of a parsed JSON object; `nil` when the document is not an
    /// object or lacks the member (the full decode then reports what is wrong).
    package init?(member key: String, of tree: JSONTree) {
        guard let root = tree.nodes.first, root.kind == .object else { return nil }
        var index = 1
        for _ in 0..<root.count {
            let value = index + 1
            guard value < tree.nodes.count else { return nil }
            if tree.string(at: index, equals: key) {
                let node = tree.nodes[value]
                let start = Int(node.start)
                let end = node.kind == .string ? Int(node.end) + 1 : Int(node.end)
                guard start <= end, end <= tree.bytes.count else { return nil }
                var hasher = Hasher()
                tree.bytes[start..<end].withUnsafeBytes { hasher.combine(bytes: $0) }
                self.length = end - start
                self.hash = hasher.finalize()
                return
            }
            index = Int(tree.nodes[value].next)
        }
        return nil
    }
}
