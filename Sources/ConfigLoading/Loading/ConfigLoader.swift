package import ConfigModel
import Foundation
internal import ObshellModel
import Support
internal import Tracker
package import YAML

/// Reads a configuration file (CONTRACT section 3) and everything it includes, and checks it whole: every problem is
/// reported, each at its `file:line:col`, not only the first.
package struct ConfigLoader: Sendable {
    /// Where `${NAME}` is looked up.
    package var environment: [String: String]
    /// Whether secrets must be resolvable. `replay` sends nothing, so it reads a production config on a laptop
    /// where the passwords and tokens are not set: there an unset secret is empty instead of an error.
    package var secretsRequired: Bool
    /// Whether the file must list targets. `run` and `check` need at least one; `replay` takes a file of receivers
    /// and rules alone, since it tracks every target a capture names (CONTRACT section 5).
    package var targetsRequired: Bool

    /// Makes a loader.
    /// - Parameters:
    ///   - environment: Where `${NAME}` is looked up; the process environment by default.
    ///   - secretsRequired: Whether an unset variable or unreadable file in a secret is an error.
    ///   - targetsRequired: Whether the file must list at least one target.
    package init(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        secretsRequired: Bool = true,
        targetsRequired: Bool = true
    ) {
        self.environment = environment
        self.secretsRequired = secretsRequired
        self.targetsRequired = targetsRequired
    }

    /// Loads and checks a configuration, returning it (when it has no error) with every diagnostic.
    /// - Parameter path: The file.
    package func load(contentsOfFile path: String) -> ConfigLoadResult {
        var decoder = ConfigDecoder(
            environment: self.environment,
            secretsRequired: self.secretsRequired,
            targetsRequired: self.targetsRequired
        )
        let config = decoder.decodeRoot(path: path)
        let diagnostics = decoder.sortedDiagnostics()
        return ConfigLoadResult(config: diagnostics.hasErrors ? nil : config, diagnostics: diagnostics)
    }

    /// Loads a configuration that must have no error.
    /// - Parameter path: The file.
    /// - Returns: The configuration and its warnings.
    /// - Throws: ``ConfigError`` with every diagnostic when there is an error.
    package func loadValid(contentsOfFile path: String) throws(ConfigError) -> (ObwatchConfig, Diagnostics) {
        let result = self.load(contentsOfFile: path)
        guard let config = result.config else {
            let count = result.diagnostics.errors.count
            throw ConfigError(
                code: .invalid,
                message: "\(count) \(count == 1 ? "error" : "errors") in \(path)",
                diagnostics: result.diagnostics
            )
        }
        return (config, result.diagnostics)
    }
}

/// The decoding pass: reads nodes, records diagnostics, and builds the model.
struct ConfigDecoder {
    let environment: [String: String]
    let secretsRequired: Bool
    let targetsRequired: Bool
    var diagnostics = Diagnostics()
    /// Files in the order they were first read, for sorting diagnostics by file.
    var fileOrder: [String] = []
    /// Whether every rule decoded; otherwise "receiver not used" could be wrong.
    var allRulesDecoded = true
    /// Receivers that have a name but an error: a rule naming one gets no second, misleading "unknown receiver".
    var brokenReceiverNames: Set<String> = []
    /// The permission bits of each file read so far (`nil` when it could not be asked), for inline secrets.
    var fileModes: [String: Int?] = [:]

    init(environment: [String: String], secretsRequired: Bool, targetsRequired: Bool = true) {
        self.environment = environment
        self.secretsRequired = secretsRequired
        self.targetsRequired = targetsRequired
    }

    static let rootKeys = [
        "state_dir", "store", "http", "heartbeat", "defaults", "targets", "receivers", "rules", "silences", "inhibit",
        "include",
    ]
    static let includedKeys = ["receivers", "rules", "silences", "inhibit", "include"]

    /// The parts a file contributes, before names are resolved across files.
    struct Parts {
        var receivers: [ReceiverConfig] = []
        var ruleNodes: [YAMLNode] = []
        var silenceNodes: [YAMLNode] = []
        var inhibitNodes: [YAMLNode] = []
    }

    mutating func decodeRoot(path: String) -> ObwatchConfig? {
        let environment = self.environment
        self.fileOrder.append(path)
        guard let root = self.parse(path: path, at: nil) else { return nil }
        guard let root else {
            let needs = self.targetsRequired ? "targets" : "receivers and rules"
            self.diagnostics.append(Diagnostic(.error, "the file is empty; it needs \(needs)", file: path))
            return nil
        }
        guard var reader = self.diagnostics.collect({ () throws(YAMLError) in try root.mappingReader() }) else {
            return nil
        }
        let stateDirectoryNode = reader.optional("state_dir")
        let stateDirectory = self.diagnostics.collect { () throws(YAMLError) -> String in
            guard let node = stateDirectoryNode else {
                return ObwatchConfig.defaultStateDirectory(environment: environment)
            }
            let text = try Interpolation.expand(try node.string(), environment: environment, at: node.mark)
            guard !text.isEmpty else {
                throw YAMLError(code: .invalidValue, message: "state_dir must not be empty", at: node.mark)
            }
            return Self.resolve(text, relativeTo: path)
        }
        var defaults = ObwatchConfig.Defaults()
        if let node = reader.optional("defaults") { defaults = self.decodeDefaults(node) }
        var store = StoreSettings.local
        if let node = reader.optional("store"), let decoded = self.decodeStore(node, file: path) { store = decoded }
        var http: ObwatchConfig.HTTPSettings?
        if let node = reader.optional("http") { http = self.decodeHTTP(node, file: path) }
        var heartbeat: ObwatchConfig.HeartbeatSettings?
        if let node = reader.optional("heartbeat") { heartbeat = self.decodeHeartbeat(node, file: path) }
        var targets: [ObwatchConfig.Target] = []
        if !self.targetsRequired {
            if let node = reader.optional("targets"), !node.isNull {
                targets = self.decodeTargets(node, defaults: defaults, file: path, allowEmpty: true)
            }
        } else if let node = self.diagnostics.collect({ () throws(YAMLError) in try reader.required("targets") }) {
            targets = self.decodeTargets(node, defaults: defaults, file: path)
        }
        var parts = Parts()
        self.collectParts(&reader, file: path, includeChain: [Self.canonical(path)], into: &parts)
        self.reportUnknownKeys(reader, known: Self.rootKeys)

        let receivers = self.uniqueReceivers(parts.receivers)
        let rules = self.decodeRules(parts.ruleNodes, receivers: receivers, targets: targets, defaults: defaults)
        let silences = parts.silenceNodes.compactMap { self.decodeSilence($0) }
        let inhibitions = parts.inhibitNodes.compactMap { self.decodeInhibition($0) }
        self.warnUnusedReceivers(receivers, rules: rules)
        guard let stateDirectory else { return nil }
        return ObwatchConfig(
            file: path,
            stateDirectory: stateDirectory,
            stateDirectoryMark: stateDirectoryNode.map { SourcePosition($0.mark) },
            store: store,
            http: http,
            heartbeat: heartbeat,
            defaults: defaults,
            targets: targets,
            receivers: receivers,
            rules: rules,
            silences: silences,
            inhibitions: inhibitions
        )
    }

    /// Reads a file; `nil` when it cannot be read or parsed (recorded), `.some(nil)` when it is empty.
    mutating func parse(path: String, at includeMark: YAMLMark?) -> YAMLNode?? {
        do {
            return .some(try YAMLParser().parse(contentsOfFile: path))
        } catch {
            if error.code == .unreadable, let includeMark {
                self.diagnostics.error("cannot read the included file \(Self.quotedPath(path))", at: includeMark)
            } else {
                self.diagnostics.append(error)
            }
            return nil
        }
    }

    /// Takes `receivers`, `rules`, `silences`, `inhibit` and `include` from a file's root mapping.
    mutating func collectParts(
        _ reader: inout YAMLMappingReader,
        file: String,
        includeChain: [String],
        into parts: inout Parts
    ) {
        if let node = reader.optional("receivers"), let elements = self.list(node) {
            parts.receivers += elements.compactMap { self.decodeReceiver($0, file: file) }
        }
        if let node = reader.optional("rules"), let elements = self.list(node) { parts.ruleNodes += elements }
        if let node = reader.optional("silences"), let elements = self.list(node) { parts.silenceNodes += elements }
        if let node = reader.optional("inhibit"), let elements = self.list(node) { parts.inhibitNodes += elements }
        if let node = reader.optional("include") {
            self.include(node, from: file, includeChain: includeChain, into: &parts)
        }
    }

    /// `include:`: one path or a list, each relative to the including file, `*` globs allowed in the file name.
    mutating func include(_ node: YAMLNode, from file: String, includeChain: [String], into parts: inout Parts) {
        guard let entries = self.diagnostics.collect({ try node.oneOrList { try $0.string() } }) else { return }
        let entryNodes = node.elements ?? [node]
        for (entry, entryNode) in zip(entries, entryNodes) {
            let paths = self.expandInclude(entry, relativeTo: file, at: entryNode.mark)
            for path in paths {
                let canonical = Self.canonical(path)
                if let start = includeChain.firstIndex(of: canonical) {
                    let cycle = (includeChain[start...] + [canonical]).map { Self.displayName($0) }
                    self.diagnostics.error(
                        "include cycle: " + cycle.joined(separator: " -> "),
                        at: entryNode.mark
                    )
                    continue
                }
                if !self.fileOrder.contains(path) { self.fileOrder.append(path) }
                guard let parsed = self.parse(path: path, at: entryNode.mark), let root = parsed else { continue }
                guard var reader = self.diagnostics.collect({ () throws(YAMLError) in try root.mappingReader() })
                else { continue }
                self.collectParts(&reader, file: path, includeChain: includeChain + [canonical], into: &parts)
                self.reportUnknownKeys(reader, known: Self.includedKeys, note: "an included file may hold ")
            }
        }
    }

    mutating func expandInclude(_ entry: String, relativeTo file: String, at mark: YAMLMark) -> [String] {
        let path = Self.resolve(entry, relativeTo: file)
        let name = (path as NSString).lastPathComponent
        guard name.contains("*") || name.contains("?") else {
            guard FileManager.default.fileExists(atPath: path) else {
                self.diagnostics.error("the included file \(Self.quotedPath(path)) does not exist", at: mark)
                return []
            }
            return [path]
        }
        let folder = (path as NSString).deletingLastPathComponent
        let glob: Glob
        do {
            glob = try Glob(name)
        } catch {
            self.diagnostics.error("invalid include pattern \(Self.quotedPath(path)): \(error.message)", at: mark)
            return []
        }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.isEmpty ? "." : folder, isDirectory: &isFolder),
            isFolder.boolValue
        else {
            self.diagnostics.error(
                "the folder \(Self.quotedPath(folder)) of the include pattern \(Self.quotedPath(name)) does not exist",
                at: mark
            )
            return []
        }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.isEmpty ? "." : folder) else {
            self.diagnostics.error("cannot list the folder of the include pattern \(Self.quotedPath(path))", at: mark)
            return []
        }
        let matches = names.filter { glob.matches($0) }.sorted()
        if matches.isEmpty {
            self.diagnostics.warning("the include pattern \(Self.quotedPath(path)) matches no file", at: mark)
        }
        return matches.map { (folder as NSString).appendingPathComponent($0) }
    }

    // MARK: - Small shared readers

    /// A list; an empty value counts as an empty list.
    mutating func list(_ node: YAMLNode) -> [YAMLNode]? {
        if node.isNull { return [] }
        return self.diagnostics.collect { () throws(YAMLError) in try node.sequence() }
    }

    /// A string with `${NAME}` expanded.
    mutating func expandedString(_ node: YAMLNode) -> String? {
        let environment = self.environment
        return self.diagnostics.collect { () throws(YAMLError) -> String in
            try Interpolation.expand(try node.string(), environment: environment, at: node.mark)
        }
    }

    /// A duration above zero (or at least zero when `allowZero`); `nil` when absent or wrong (recorded).
    mutating func duration(_ node: YAMLNode?, allowZero: Bool = false) -> WrittenDuration? {
        guard let node else { return nil }
        return self.diagnostics.collect { () throws(YAMLError) -> WrittenDuration in
            let value = try node.writtenDuration()
            guard value.duration > .zero || (allowZero && value.duration == .zero) else {
                throw YAMLError(
                    code: .invalidValue,
                    message: "\(YAMLNode.quote(value.text)) must be longer than zero",
                    at: node.mark
                )
            }
            return value
        }
    }

    /// A secret given inline (`KEY:`, with `${NAME}`) or by file (`KEY_file:`), never both. The value is never
    /// shown in a message.
    ///
    /// A secret written out in a file that others can read gets a warning: a `${NAME}` reference or `KEY_file:`
    /// keeps it out of the file.
    /// - Parameter holdsSecret: Whether a value written inline really is a secret (a webhook url is one only when it
    ///   carries a token).
    mutating func secret(
        _ key: String,
        in reader: inout YAMLMappingReader,
        file: String,
        holdsSecret: (String) -> Bool = { !$0.isEmpty }
    ) -> (Secret, YAMLMark)? {
        let environment = self.environment
        let inline = reader.optional(key)
        let fromFile = reader.optional(key + "_file")
        if inline != nil, let fromFile {
            self.diagnostics.error("give \"\(key)\" or \"\(key)_file\", not both", at: fromFile.mark)
            return nil
        }
        if let inline {
            if let written = inline.scalar?.value, !written.contains("${"), holdsSecret(written),
                let mode = self.othersCanRead(file)
            {
                self.diagnostics.warning(
                    "\"\(key)\" holds a secret in a file that others can read (mode \(String(mode, radix: 8))): "
                        + "give it as ${VARIABLE} from the environment or in \"\(key)_file\", or run chmod o-r on the "
                        + "file",
                    at: inline.mark
                )
            }
            var problems = Diagnostics()
            let text = problems.collect { () throws(YAMLError) -> String in
                try Interpolation.expand(try inline.string(), environment: environment, at: inline.mark)
            }
            if let text { return (Secret(text), inline.mark) }
            if self.secretsRequired || inline.scalar == nil { self.diagnostics.append(contentsOf: problems) }
            return self.secretsRequired ? nil : (Secret(""), inline.mark)
        }
        if let fromFile {
            guard let written = self.expandedString(fromFile) else { return nil }
            let path = Self.resolve(written, relativeTo: file)
            guard let data = FileManager.default.contents(atPath: path) else {
                guard self.secretsRequired else { return (Secret(""), fromFile.mark) }
                self.diagnostics.error(
                    "cannot read the secret file \(Self.quotedPath(path)): \(Self.whyUnreadable(path))"
                        + Self.relativeNote(written),
                    at: fromFile.mark
                )
                return nil
            }
            var text = String(decoding: data, as: UTF8.self)
            if text.hasSuffix("\r\n") {
                text.removeLast(2)
            } else if text.hasSuffix("\n") {
                text.removeLast()
            }
            return (Secret(text), fromFile.mark)
        }
        return nil
    }

    /// A readable file path (`ca_file:`), relative to the config file.
    mutating func readableFile(_ node: YAMLNode?, file: String) -> String? {
        guard let node, let written = self.expandedString(node) else { return nil }
        let path = Self.resolve(written, relativeTo: file)
        guard FileManager.default.isReadableFile(atPath: path) else {
            self.diagnostics.error(
                "cannot read the file \(Self.quotedPath(path)): \(Self.whyUnreadable(path))"
                    + Self.relativeNote(written),
                at: node.mark
            )
            return nil
        }
        return path
    }

    /// Why a file cannot be read, in the system's lower-case words (`no such file or directory`, `permission
    /// denied`, `is a directory`).
    static func whyUnreadable(_ path: String) -> String {
        var info = stat()
        if stat(path, &info) != 0 { return SystemError.words(errno) }
        if (info.st_mode & S_IFMT) == S_IFDIR { return SystemError.words(EISDIR) }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return SystemError.words(errno) }
        close(descriptor)
        return "it could not be read"
    }

    /// For a path written relative: where it was looked for, since a daemon's working folder is not the config's.
    static func relativeNote(_ written: String) -> String {
        written.hasPrefix("/") ? "" : " (a relative path is taken from the config file's folder)"
    }

    /// The permission bits of `file` when others may read it, else `nil`; asked once per file.
    mutating func othersCanRead(_ file: String) -> Int? {
        if let known = self.fileModes[file] { return known.flatMap { $0 & 0o004 != 0 ? $0 : nil } }
        var info = stat()
        let mode = stat(file, &info) == 0 ? Int(info.st_mode & 0o777) : nil
        self.fileModes[file] = .some(mode)
        return mode.flatMap { $0 & 0o004 != 0 ? $0 : nil }
    }

    /// Unknown keys are errors, each at the key with the nearest known key suggested: a misspelt key would
    /// otherwise be a setting silently not in force (a rule without its `after:`, a receiver without its retry).
    mutating func reportUnknownKeys(_ reader: YAMLMappingReader, known: [String] = [], note: String? = nil) {
        for error in reader.unknownKeyErrors(known: known) {
            var message = error.message
            if let note, !message.contains("did you mean") {
                message += " (\(note)" + known.map { "\"\($0)\"" }.joined(separator: ", ") + ")"
            }
            if let mark = error.mark { self.diagnostics.error(message, at: mark) }
        }
    }

    /// `path` relative to the folder of `file`, unless absolute; `.` and `..` resolved.
    static func resolve(_ path: String, relativeTo file: String) -> String {
        guard !path.hasPrefix("/") else { return (path as NSString).standardizingPath }
        let folder = (file as NSString).deletingLastPathComponent
        guard !folder.isEmpty else { return (path as NSString).standardizingPath }
        return ((folder as NSString).appendingPathComponent(path) as NSString).standardizingPath
    }

    static func canonical(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }

    static func displayName(_ path: String) -> String { (path as NSString).lastPathComponent }

    /// A path for a message, whole: `YAMLNode.quote` shortens long values, and a shortened path is no help.
    static func quotedPath(_ path: String) -> String {
        // Quoted in pieces shorter than quote's limit (counted in scalars, as it counts), so escaping stays shared.
        var parts: [String] = []
        var rest = Substring(path).unicodeScalars
        while !rest.isEmpty {
            let chunk = rest.prefix(50)
            parts.append(String(YAMLNode.quote(String(String.UnicodeScalarView(chunk))).dropFirst().dropLast()))
            rest = rest.dropFirst(chunk.count)
        }
        return "\"" + parts.joined() + "\""
    }

    /// Where a name was first defined, for a duplicate at `mark`: the line and column in the same file, the whole
    /// position in another.
    static func firstDefinition(_ first: YAMLMark, before mark: YAMLMark) -> String {
        guard first.file == mark.file else { return "first defined at \(first)" }
        return "first defined at line \(first.line), column \(first.column)"
    }

    /// Diagnostics ordered by file (in reading order), then position; file-less ones first.
    func sortedDiagnostics() -> Diagnostics {
        func key(_ diagnostic: Diagnostic) -> (Int, Int, Int) {
            let fileIndex = self.fileOrder.firstIndex(of: diagnostic.file) ?? (diagnostic.file.isEmpty ? -1 : .max)
            return (fileIndex, diagnostic.mark?.line ?? 0, diagnostic.mark?.column ?? 0)
        }
        let sorted = self.diagnostics.entries.enumerated().sorted { lhs, rhs in
            let (left, right) = (key(lhs.element), key(rhs.element))
            return left != right ? left < right : lhs.offset < rhs.offset
        }
        var result = Diagnostics()
        for entry in sorted { result.append(entry.element) }
        return result
    }
}
