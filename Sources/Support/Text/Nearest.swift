/// The candidate closest to `word`, to suggest for a misspelt key or name; `nil` when nothing is close.
///
/// Case is ignored. A candidate qualifies within `maxDistance` edits, and within one edit per three characters of
/// `word` (at least one), so short words do not draw unrelated suggestions. Ties go to the earliest candidate.
/// - Parameters:
///   - word: What was written.
///   - candidates: What could have been meant.
///   - maxDistance: The most edits (insertions, deletions, substitutions, swaps of neighbours) allowed.
/// - Returns: The closest candidate, or `nil`.
package func nearest(to word: String, among candidates: some Sequence<String>, maxDistance: Int = 2) -> String? {
    let limit = min(maxDistance, max(1, word.count / 3))
    let lowered = word.lowercased()
    var best: (candidate: String, distance: Int)?
    for candidate in candidates {
        let distance = editDistance(lowered, candidate.lowercased())
        if distance <= limit, distance < (best?.distance ?? Int.max) {
            best = (candidate, distance)
        }
    }
    return best?.candidate
}

/// The number of edits (insertions, deletions, substitutions, swaps of two neighbours) that turn `a` into `b`,
/// counted over characters (the optimal string alignment distance).
/// - Parameters:
///   - a: One text.
///   - b: The other.
package func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    // Three rows are enough: the swap rule looks two rows back.
    var before = [Int](repeating: 0, count: b.count + 1)
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            var value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                value = min(value, before[j - 2] + 1)
            }
            current[j] = value
        }
        (before, previous, current) = (previous, current, before)
    }
    return previous[b.count]
}
