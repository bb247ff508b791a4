#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Parses one YAML document into a ``YAMLNode`` tree with libyaml.
///
/// - A stream with no document, or a document with no content (`---` alone, only comments), gives `nil`.
/// - A second document (`---` after a first one) is an error: a config or rule file holds exactly one.
/// - Aliases are resolved; the nodes they copy are counted, and going beyond ``Options/maxAliasExpansion`` is an
///   error at the alias (this stops "billion laughs" alias bombs).
/// - Merge keys (`<<: *defaults`, or `<<: [*a, *b]`) are applied: keys written in the mapping win over merged keys,
///   and earlier mappings in a merge list win over later ones. Merged pairs keep the position where they were
///   written. Write `"<<"` (quoted) for a literal `<<` key.
/// - A key written twice in one mapping is an error at the second one. Keys compare by text, so `port` and `"port"`
///   are the same key. Keys brought in by a merge never count as duplicates.
package struct YAMLParser: Sendable {
    /// Limits and switches for a parse.
    package struct Options: Sendable, Hashable {
        /// The most nodes all aliases of a document may copy in total; beyond it the parse fails at the alias.
        package var maxAliasExpansion: Int
        /// The most levels lists and mappings may nest, counting the root as level 1.
        package var maxDepth: Int
        /// Whether `<<` keys merge mappings (the YAML 1.1 merge key) or stay ordinary keys.
        package var mergeKeys: Bool

        /// Makes options; the defaults suit config and rule files.
        /// - Parameters:
        ///   - maxAliasExpansion: The most nodes aliases may copy in total.
        ///   - maxDepth: The deepest nesting allowed.
        ///   - mergeKeys: Whether to apply `<<` merge keys.
        package init(maxAliasExpansion: Int = 10_000, maxDepth: Int = 256, mergeKeys: Bool = true) {
            self.maxAliasExpansion = maxAliasExpansion
            self.maxDepth = maxDepth
            self.mergeKeys = mergeKeys
        }
    }

    /// The limits and switches this parser uses.
    package var options: Options

    /// Makes a parser.
    /// - Parameter options: Limits and switches; the defaults suit config and rule files.
    package init(options: Options = Options()) {
        self.options = options
    }

    /// Parses YAML text.
    /// - Parameters:
    ///   - text: The YAML text.
    ///   - file: The name to show in positions and messages.
    /// - Returns: The document's root, or `nil` when there is no content.
    /// - Throws: ``YAMLError`` at the position of the first problem.
    package func parse(_ text: String, file: String) throws(YAMLError) -> YAMLNode? {
        try self.parse(bytes: Array(text.utf8), file: file)
    }

    /// Parses YAML bytes (UTF-8, or UTF-16 with a byte order mark).
    /// - Parameters:
    ///   - bytes: The YAML text.
    ///   - file: The name to show in positions and messages.
    /// - Returns: The document's root, or `nil` when there is no content.
    /// - Throws: ``YAMLError`` at the position of the first problem.
    package func parse(bytes: [UInt8], file: String) throws(YAMLError) -> YAMLNode? {
        guard !bytes.isEmpty else { return nil }
        let options = self.options
        return try LibYAMLReader.withEvents(of: bytes, file: file) { reader throws(YAMLError) in
            var composer = YAMLComposer(reader: reader, options: options)
            return try composer.composeStream()
        }
    }

    /// Reads and parses a YAML file.
    /// - Parameter path: The file's path, also the name shown in positions and messages.
    /// - Returns: The document's root, or `nil` when there is no content.
    /// - Throws: ``YAMLError`` naming the file when it cannot be read, or at the position of the first problem.
    package func parse(contentsOfFile path: String) throws(YAMLError) -> YAMLNode? {
        try self.parse(bytes: try Self.readFile(path), file: path)
    }

    /// The whole content of a file, read with plain POSIX calls so a failure names the system's reason.
    private static func readFile(_ path: String) throws(YAMLError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Self.readError(path, errno) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { return bytes }
            if count < 0 {
                if errno == EINTR { continue }
                throw Self.readError(path, errno)
            }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }

    private static func readError(_ path: String, _ code: Int32) -> YAMLError {
        let reason = strerror(code).map { String(cString: $0) } ?? "error \(code)"
        return YAMLError(code: .unreadable, message: "cannot read the file: \(reason)", file: path)
    }
}
