import Foundation
import Obshell
import Tracker
import YAML

/// The part of the configuration (CONTRACT section 3) that `obwatch run` uses so far: where state lives, the
/// defaults, and the targets. The sections later stages read (`http`, `receivers`, `rules`, ...) are accepted and
/// ignored.
struct DaemonConfig: Sendable {
    /// `defaults:`: what every target uses unless it says otherwise.
    struct Defaults: Sendable, Hashable {
        /// How often a target is polled.
        var pollInterval: Duration = .seconds(5)
        /// How long one request may take.
        var timeout: Duration = .seconds(5)
        /// Failed polls in a row before `target_down`.
        var downAfter: Int = 3
        /// How long a DAG that left the list is confirmed before `vanished`.
        var confirmWithin: Duration = .seconds(600)
        /// The stall threshold that always applies, as written.
        var stallAfter = TrackerSettings.defaultStallAfter
    }

    /// One `targets:` entry.
    struct Target: Sendable, Hashable {
        /// The unique name events and state files carry.
        var name: String
        /// The agent: `http://`, `https://` or `unix://`.
        var url: String
        /// The password, after `${VAR}` interpolation or read from `password_file`.
        var password: Password
        /// How often this target is polled.
        var pollInterval: Duration
        /// How long one request to this target may take.
        var timeout: Duration
        /// The target's labels, copied into events.
        var labels: [String: String]

        /// Who events are about: the URL without credentials or query.
        var identity: TargetIdentity {
            TargetIdentity(name: self.name, url: Redacted.url(self.url), labels: self.labels)
        }
    }

    /// `state_dir`: tracker state files.
    var stateDirectory: String
    /// `defaults:`.
    var defaults: Defaults
    /// `targets:`, in file order.
    var targets: [Target]

    /// The tracker's settings for every target (rules add no thresholds yet).
    var trackerSettings: TrackerSettings {
        TrackerSettings(
            downAfter: self.defaults.downAfter,
            confirmWithin: self.defaults.confirmWithin,
            stallThresholds: [self.defaults.stallAfter]
        )
    }
}

/// Why a configuration cannot be used: every problem found, one diagnostic each.
struct DaemonConfigError: Error, CustomStringConvertible {
    /// What kind of failure this is.
    struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case invalid
        }
        private let kind: Kind

        /// The file cannot be read, is not YAML, or holds values that cannot be used.
        static let invalid = Code(kind: .invalid)

        var description: String { self.kind.rawValue }
    }

    /// The kind of failure.
    var code: Code
    /// A one-line summary.
    var message: String
    /// Every problem, in file order of discovery.
    var diagnostics: Diagnostics
    /// The underlying error, when there is a single one.
    var cause: (any Error)?

    /// One `FILE:LINE:COL: error: MESSAGE` line per problem.
    var lines: [String] { self.diagnostics.entries.map(\.description) }

    var description: String { self.lines.joined(separator: "\n") }
}

extension DaemonConfig {
    /// The top-level keys later stages read; accepted and ignored until then.
    static let laterKeys = ["http", "receivers", "rules", "silences", "inhibit", "include"]

    /// Reads and checks a configuration file, reporting every problem rather than the first.
    /// - Parameters:
    ///   - path: The file.
    ///   - environment: Where `${VAR}` in passwords is looked up.
    /// - Throws: ``DaemonConfigError`` holding one diagnostic per problem.
    static func load(
        contentsOfFile path: String,
        environment: [String: String]
    ) throws(DaemonConfigError)
        -> DaemonConfig
    {
        let root: YAMLNode?
        do {
            root = try YAMLParser().parse(contentsOfFile: path)
        } catch {
            var diagnostics = Diagnostics()
            diagnostics.append(error)
            throw DaemonConfigError(code: .invalid, message: error.message, diagnostics: diagnostics, cause: error)
        }
        var diagnostics = Diagnostics()
        guard let root else {
            diagnostics.append(Diagnostic(.error, "the file is empty; it needs state_dir and targets", file: path))
            throw DaemonConfigError(code: .invalid, message: "the file is empty", diagnostics: diagnostics)
        }
        let config = Self.decode(root, environment: environment, diagnostics: &diagnostics)
        guard let config, !diagnostics.hasErrors else {
            throw DaemonConfigError(
                code: .invalid,
                message: "\(diagnostics.errors.count) problem(s) in \(path)",
                diagnostics: diagnostics
            )
        }
        return config
    }

    /// Decodes the root mapping; `nil` when something is missing (the problems are in `diagnostics`).
    static func decode(
        _ root: YAMLNode,
        environment: [String: String],
        diagnostics: inout Diagnostics
    ) -> DaemonConfig? {
        guard var reader = diagnostics.collect({ () throws(YAMLError) in try root.mappingReader() }) else {
            return nil
        }
        let stateDirectory = diagnostics.collect { try reader.required("state_dir").string() }
        var defaults = Defaults()
        if let node = reader.optional("defaults") {
            defaults = Self.decodeDefaults(node, diagnostics: &diagnostics)
        }
        var targets: [Target] = []
        if let node = diagnostics.collect({ () throws(YAMLError) in try reader.required("targets") }) {
            targets = Self.decodeTargets(node, defaults: defaults, environment: environment, diagnostics: &diagnostics)
        }
        for key in Self.laterKeys { _ = reader.optional(key) }
        reader.reportUnknownKeys(into: &diagnostics)
        guard let stateDirectory else { return nil }
        return DaemonConfig(stateDirectory: stateDirectory, defaults: defaults, targets: targets)
    }

    private static func decodeDefaults(_ node: YAMLNode, diagnostics: inout Diagnostics) -> Defaults {
        var defaults = Defaults()
        guard var reader = diagnostics.collect({ () throws(YAMLError) in try node.mappingReader() }) else {
            return defaults
        }
        if let value = Self.positiveDuration(reader.optional("poll_interval"), &diagnostics) {
            defaults.pollInterval = value.duration
        }
        if let value = Self.positiveDuration(reader.optional("timeout"), &diagnostics) {
            defaults.timeout = value.duration
        }
        if let value = reader.optional("down_after"),
            let count = diagnostics.collect({ () throws(YAMLError) in try value.int(in: 1...1000) })
        {
            defaults.downAfter = count
        }
        if let value = Self.positiveDuration(reader.optional("confirm_within"), &diagnostics) {
            defaults.confirmWithin = value.duration
        }
        if let value = Self.positiveDuration(reader.optional("stall_after"), &diagnostics) {
            defaults.stallAfter = StallThreshold(text: value.text, duration: value.duration)
        }
        reader.reportUnknownKeys(into: &diagnostics)
        return defaults
    }

    private static func decodeTargets(
        _ node: YAMLNode,
        defaults: Defaults,
        environment: [String: String],
        diagnostics: inout Diagnostics
    ) -> [Target] {
        guard let elements = diagnostics.collect({ () throws(YAMLError) in try node.sequence() }) else { return [] }
        if elements.isEmpty {
            diagnostics.error("\"targets\" lists no target; obwatch needs at least one", at: node.mark)
        }
        var targets: [Target] = []
        var firstLine: [String: Int] = [:]
        for element in elements {
            guard
                let target = Self.decodeTarget(
                    element,
                    defaults: defaults,
                    environment: environment,
                    diagnostics: &diagnostics
                )
            else { continue }
            if let line = firstLine[target.name] {
                diagnostics.error(
                    "duplicate target name \(YAMLNode.quote(target.name)) (first defined at line \(line))",
                    at: element["name"]?.mark ?? element.mark
                )
                continue
            }
            firstLine[target.name] = element.mark.line
            targets.append(target)
        }
        return targets
    }

    private static func decodeTarget(
        _ node: YAMLNode,
        defaults: Defaults,
        environment: [String: String],
        diagnostics: inout Diagnostics
    ) -> Target? {
        guard var reader = diagnostics.collect({ () throws(YAMLError) in try node.mappingReader() }) else {
            return nil
        }
        let name = diagnostics.collect { () throws(YAMLError) -> String in
            let value = try reader.required("name")
            let text = try value.string()
            guard !text.isEmpty else {
                throw YAMLError(code: .invalidValue, message: "a target's name must not be empty", at: value.mark)
            }
            return text
        }
        let url = diagnostics.collect { () throws(YAMLError) -> String in
            let value = try reader.required("url")
            let text = try value.string()
            let lowered = text.lowercased()
            guard ["http://", "https://", "unix://"].contains(where: { lowered.hasPrefix($0) && lowered != $0 }) else {
                throw YAMLError(
                    code: .invalidValue,
                    message: "invalid url \(YAMLNode.quote(Redacted.url(text))): "
                        + "expected http://HOST:PORT, https://HOST:PORT or unix:///PATH",
                    at: value.mark
                )
            }
            return text
        }
        let password = Self.decodePassword(&reader, node: node, environment: environment, diagnostics: &diagnostics)
        let pollInterval = Self.positiveDuration(reader.optional("poll_interval"), &diagnostics)
        let timeout = Self.positiveDuration(reader.optional("timeout"), &diagnostics)
        var labels: [String: String] = [:]
        if let value = reader.optional("labels"),
            let pairs = diagnostics.collect({ try value.stringMap { try $0.string() } })
        {
            for pair in pairs { labels[pair.key] = pair.value }
        }
        reader.reportUnknownKeys(into: &diagnostics)
        guard let name, let url, let password else { return nil }
        return Target(
            name: name,
            url: url,
            password: password,
            pollInterval: pollInterval?.duration ?? defaults.pollInterval,
            timeout: timeout?.duration ?? defaults.timeout,
            labels: labels
        )
    }

    /// `password:` (with `${VAR}` interpolation) or `password_file:`; neither means no password (a unix socket or a
    /// SINGLE agent). No message ever shows the value.
    private static func decodePassword(
        _ reader: inout YAMLMappingReader,
        node: YAMLNode,
        environment: [String: String],
        diagnostics: inout Diagnostics
    ) -> Password? {
        let inline = reader.optional("password")
        let file = reader.optional("password_file")
        if inline != nil, let file {
            diagnostics.error("give \"password\" or \"password_file\", not both", at: file.mark)
            return nil
        }
        if let inline {
            guard let text = diagnostics.collect({ () throws(YAMLError) in try inline.string() }) else { return nil }
            return diagnostics.collect { () throws(YAMLError) in
                Password(try Self.interpolate(text, environment: environment, at: inline.mark))
            }
        }
        if let file {
            guard let path = diagnostics.collect({ () throws(YAMLError) in try file.string() }) else { return nil }
            guard let data = FileManager.default.contents(atPath: path) else {
                diagnostics.error("cannot read the password file \(YAMLNode.quote(path))", at: file.mark)
                return nil
            }
            var text = String(decoding: data, as: UTF8.self)
            if text.hasSuffix("\r\n") {
                text.removeLast(2)
            } else if text.hasSuffix("\n") {
                text.removeLast()
            }
            return Password(text)
        }
        return .empty
    }

    /// Replaces every `${NAME}` with the environment's value; `$$` is a literal `$`.
    /// - Throws: ``YAMLError`` naming the variables that are not set (never a value).
    static func interpolate(
        _ text: String,
        environment: [String: String],
        at mark: YAMLMark
    ) throws(YAMLError)
        -> String
    {
        var result = ""
        var missing: [String] = []
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            result += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            if after.first == "$" {
                result += "$"
                rest = after.dropFirst()
                continue
            }
            guard after.first == "{", let close = after.firstIndex(of: "}") else {
                throw YAMLError(
                    code: .invalidValue,
                    message: "a \"$\" must start ${NAME} (write $$ for a literal dollar sign)",
                    at: mark
                )
            }
            let name = String(after[after.index(after: after.startIndex)..<close])
            guard Self.isVariableName(name) else {
                throw YAMLError(
                    code: .invalidValue,
                    message: "${...} must hold an environment variable name (letters, digits, _)",
                    at: mark
                )
            }
            if let value = environment[name] {
                result += value
            } else if !missing.contains(name) {
                missing.append(name)
            }
            rest = after[after.index(after: close)...]
        }
        result += rest
        guard missing.isEmpty else {
            let names = missing.map { "\"\($0)\"" }.joined(separator: ", ")
            let noun = missing.count == 1 ? "environment variable" : "environment variables"
            throw YAMLError(code: .invalidValue, message: "the \(noun) \(names) is not set", at: mark)
        }
        return result
    }

    private static func isVariableName(_ name: String) -> Bool {
        func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                || scalar == "_"
        }
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy(isWordCharacter)
    }

    /// A duration that must be above zero; `nil` when absent or wrong (the problem is recorded).
    private static func positiveDuration(_ node: YAMLNode?, _ diagnostics: inout Diagnostics) -> WrittenDuration? {
        guard let node else { return nil }
        return diagnostics.collect { () throws(YAMLError) -> WrittenDuration in
            let value = try node.writtenDuration()
            guard value.duration > .zero else {
                throw YAMLError(
                    code: .invalidValue,
                    message: "\(YAMLNode.quote(value.text)) must be longer than zero",
                    at: node.mark
                )
            }
            return value
        }
    }
}
