import ConfigModel
import Foundation
import ObshellModel
import Support
import Tracker
import YAML

extension ConfigDecoder {
    mutating func decodeDefaults(_ node: YAMLNode) -> ObwatchConfig.Defaults {
        var defaults = ObwatchConfig.Defaults()
        guard var reader = self.diagnostics.collect({ () throws(YAMLError) in try node.mappingReader() }) else {
            return defaults
        }
        if let value = self.duration(reader.optional("poll_interval")) { defaults.pollInterval = value.duration }
        if let value = self.duration(reader.optional("timeout")) { defaults.timeout = value.duration }
        if let value = reader.optional("down_after"),
            let count = self.diagnostics.collect({ () throws(YAMLError) in try value.int(in: 1...1000) })
        {
            defaults.downAfter = count
        }
        if let value = self.duration(reader.optional("confirm_within")) { defaults.confirmWithin = value.duration }
        if let value = self.duration(reader.optional("stall_after")) {
            defaults.stallAfter = StallThreshold(text: value.text, duration: value.duration)
        }
        if let value = reader.optional("time_zone"), let zone = self.timeZone(value) { defaults.timeZone = zone }
        if let value = self.duration(reader.optional("stuck_after")) { defaults.stuckAfter = value.duration }
        self.reportUnknownKeys(reader)
        return defaults
    }

    /// An IANA zone name such as `Asia/Shanghai`.
    mutating func timeZone(_ node: YAMLNode) -> TimeZone? {
        guard let name = self.diagnostics.collect({ () throws(YAMLError) in try node.string() }) else { return nil }
        if let zone = TimeZone(identifier: name) {
            return zone
        }
        var message = "unknown time zone \(YAMLNode.quote(name)); use an IANA name such as \"Asia/Shanghai\""
        if let suggestion = nearest(to: name, among: TimeZone.knownTimeZoneIdentifiers, maxDistance: 3) {
            message = "unknown time zone \(YAMLNode.quote(name)) (did you mean \(YAMLNode.quote(suggestion))?)"
        }
        self.diagnostics.error(message, at: node.mark)
        return nil
    }

    mutating func decodeHTTP(_ node: YAMLNode, file: String) -> ObwatchConfig.HTTPSettings? {
        guard var reader = self.diagnostics.collect({ () throws(YAMLError) in try node.mappingReader() }) else {
            return nil
        }
        var settings = ObwatchConfig.HTTPSettings(host: "127.0.0.1", port: 9464)
        if let listen = reader.optional("listen"), let text = self.expandedString(listen) {
            if let (host, port) = Self.hostAndPort(text) {
                settings.host = host
                settings.port = port
            } else {
                self.diagnostics.error(
                    "invalid listen address \(YAMLNode.quote(text)): expected HOST:PORT such as 127.0.0.1:9464",
                    at: listen.mark
                )
            }
        }
        if let (token, mark) = self.secret("bearer_token", in: &reader, file: file) {
            if token.isEmpty {
                self.diagnostics.error("the bearer token is empty", at: mark)
            } else {
                settings.bearerToken = token
            }
        }
        if let (token, mark) = self.secret("write_token", in: &reader, file: file) {
            if token.isEmpty {
                self.diagnostics.error("the write token is empty", at: mark)
            } else {
                settings.writeToken = token
            }
        }
        if let node = reader.optional("tls") { settings.tls = self.decodeHTTPTLS(node, file: file) }
        self.reportUnknownKeys(reader)
        return settings
    }

    /// `http.tls: {cert_file, key_file}`: both required, paths relative to the configuration file.
    mutating func decodeHTTPTLS(_ node: YAMLNode, file: String) -> ObwatchConfig.HTTPSettings.TLSFiles? {
        guard var reader = self.diagnostics.collect({ () throws(YAMLError) in try node.mappingReader() }) else {
            return nil
        }
        var paths: [String] = []
        for key in ["cert_file", "key_file"] {
            guard let value = reader.optional(key) else {
                self.diagnostics.error(
                    "http.tls needs \"\(key)\": give the PEM certificate chain and its private key",
                    at: node.mark
                )
                continue
            }
            guard let written = self.expandedString(value) else { continue }
            let path = Self.resolve(written, relativeTo: file)
            if !FileManager.default.isReadableFile(atPath: path) {
                self.diagnostics.error(
                    "cannot read \(key) \(Self.quotedPath(path)): \(Self.whyUnreadable(path))",
                    at: value.mark
                )
            }
            paths.append(path)
        }
        self.reportUnknownKeys(reader)
        guard paths.count == 2 else { return nil }
        return ObwatchConfig.HTTPSettings.TLSFiles(certificateFile: paths[0], keyFile: paths[1])
    }

    /// `HOST:PORT` or `[V6]:PORT`, port 1 to 65535 (0 allowed: any free port).
    static func hostAndPort(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !host.contains(" ") else { return nil }
        return (host, port)
    }

    mutating func decodeTargets(
        _ node: YAMLNode,
        defaults: ObwatchConfig.Defaults,
        file: String,
        allowEmpty: Bool = false
    ) -> [ObwatchConfig.Target] {
        guard let elements = self.list(node) else { return [] }
        if elements.isEmpty, !allowEmpty {
            self.diagnostics.error("\"targets\" lists no target; obwatch needs at least one", at: node.mark)
        }
        var targets: [ObwatchConfig.Target] = []
        var seen: [String: YAMLMark] = [:]
        for element in elements {
            guard let target = self.decodeTarget(element, defaults: defaults, file: file) else { continue }
            let mark = element["name"]?.mark ?? element.mark
            if let first = seen[target.name] {
                self.diagnostics.error(
                    "duplicate target name \(YAMLNode.quote(target.name)) (\(Self.firstDefinition(first, before: mark)))",
                    at: mark
                )
                continue
            }
            seen[target.name] = mark
            targets.append(target)
        }
        return targets
    }

    mutating func decodeTarget(
        _ node: YAMLNode,
        defaults: ObwatchConfig.Defaults,
        file: String
    ) -> ObwatchConfig.Target? {
        let environment = self.environment
        guard var reader = self.diagnostics.collect({ () throws(YAMLError) in try node.mappingReader() }) else {
            return nil
        }
        let name = self.diagnostics.collect { () throws(YAMLError) -> String in
            let value = try reader.required("name")
            let text = try value.string()
            guard !text.isEmpty, !text.contains("/") else {
                throw YAMLError(
                    code: .invalidValue,
                    message: "a target's name must be non-empty and hold no \"/\"",
                    at: value.mark
                )
            }
            return text
        }
        let url = self.diagnostics.collect { () throws(YAMLError) -> String in
            let value = try reader.required("url")
            let text = try Interpolation.expand(try value.string(), environment: environment, at: value.mark)
            let lowered = text.lowercased()
            guard ["http://", "https://", "unix://"].contains(where: { lowered.hasPrefix($0) && lowered != $0 }) else {
                throw YAMLError(
                    code: .invalidValue,
                    message: "invalid url \(YAMLNode.quote(URLRedaction.redact(text))): "
                        + "expected http://HOST:PORT, https://HOST:PORT or unix:///PATH",
                    at: value.mark
                )
            }
            return text
        }
        let password = self.secret("password", in: &reader, file: file)
        let pollInterval = self.duration(reader.optional("poll_interval"))
        let timeout = self.duration(reader.optional("timeout"))
        var labels: [String: String] = [:]
        if let value = reader.optional("labels"),
            let pairs = self.diagnostics.collect({ try value.stringMap { try $0.string() } })
        {
            for pair in pairs { labels[pair.key] = pair.value }
        }
        let caFile = self.readableFile(reader.optional("ca_file"), file: file)
        self.reportUnknownKeys(reader)
        guard let name, let url else { return nil }
        return ObwatchConfig.Target(
            name: name,
            url: url,
            password: password.map { Password($0.0.revealed) } ?? .empty,
            pollInterval: pollInterval?.duration ?? defaults.pollInterval,
            timeout: timeout?.duration ?? defaults.timeout,
            labels: labels,
            caFile: caFile,
            mark: SourcePosition(node.mark)
        )
    }
}
