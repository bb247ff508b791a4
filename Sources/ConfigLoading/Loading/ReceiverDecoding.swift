import ConfigModel
import Foundation
import Support
import YAML

/// One kind of receiver as the config writes it: the key that names it, and how its settings decode.
struct ReceiverKindDecoder: Sendable {
    /// The key under a receiver: `webhook`, `email`, ...
    let key: String
    /// Decodes the key's value; `nil` after reporting what is wrong.
    let decode: @Sendable (inout ConfigDecoder, _ value: YAMLNode, _ file: String) -> ReceiverConfig.Kind?
}

extension ConfigDecoder {
    /// Every receiver kind the loader knows, in the order they are looked for: the one place loading names each
    /// ``ReceiverConfig/Kind`` (a new kind is added here, beside its case in the model and its sender in Delivery).
    static let receiverKinds = [
        ReceiverKindDecoder(key: "webhook") { decoder, value, file in
            decoder.decodeWebhook(value, file: file).map { .webhook($0) }
        },
        ReceiverKindDecoder(key: "email") { decoder, value, file in
            decoder.decodeEmail(value, file: file).map { .email($0) }
        },
        ReceiverKindDecoder(key: "syslog") { decoder, value, _ in decoder.decodeSyslog(value).map { .syslog($0) } },
        ReceiverKindDecoder(key: "file") { decoder, value, file in
            decoder.decodeFileSink(value, file: file).map { .file($0) }
        },
        ReceiverKindDecoder(key: "console") { decoder, value, _ in decoder.decodeConsole(value) },
        ReceiverKindDecoder(key: "alertmanager") { decoder, value, file in
            decoder.decodeAlertmanager(value, file: file).map { .alertmanager($0) }
        },
    ]

    /// `"webhook", "email", "syslog", "file", "console" or "alertmanager"`, for the error about a receiver with none.
    static let receiverKindList: String = {
        let quoted = Self.receiverKinds.map { "\"\($0.key)\"" }
        return quoted.dropLast().joined(separator: ", ") + " or " + (quoted.last ?? "")
    }()

    static let deliveryKeys = ["timeout", "rate_limit", "max_age", "retry", "send_resolved", "concurrency"]

    mutating func decodeReceiver(_ node: YAMLNode, file: String) -> ReceiverConfig? {
        guard var reader = self.diagnostics.collect({ () throws(YAMLError) in try node.mappingReader() }) else {
            return nil
        }
        let name = self.diagnostics.collect { () throws(YAMLError) -> String in
            let value = try reader.required("name")
            let text = try value.string()
            guard !text.isEmpty else {
                throw YAMLError(code: .invalidValue, message: "a receiver's name must not be empty", at: value.mark)
            }
            return text
        }
        let given = Self.receiverKinds.compactMap { kind in reader.optional(kind.key).map { (kind, $0) } }
        var kind: ReceiverConfig.Kind?
        if given.isEmpty {
            self.diagnostics.error("a receiver needs one of \(Self.receiverKindList)", at: node.mark)
        } else if given.count > 1 {
            self.diagnostics.error(
                "a receiver has one kind; this one has both \"\(given[0].0.key)\" and \"\(given[1].0.key)\"",
                at: given[1].1.mark
            )
        } else {
            let (decoder, value) = given[0]
            kind = decoder.decode(&self, value, file)
        }
        let defaultLimits = kind?.defaultRateLimits ?? []
        var delivery = self.decodeDelivery(&reader, defaultLimits: defaultLimits)
        delivery.concurrency = self.decodeConcurrency(reader.optional("concurrency"), kind: kind)
        self.reportUnknownKeys(reader)
        guard let name else { return nil }
        guard let kind else {
            self.brokenReceiverNames.insert(name)
            return nil
        }
        return ReceiverConfig(name: name, kind: kind, delivery: delivery, mark: SourcePosition(node.mark))
    }

    /// Drops receivers whose name is taken, with an error at the second one.
    mutating func uniqueReceivers(_ receivers: [ReceiverConfig]) -> [ReceiverConfig] {
        var seen: [String: YAMLMark] = [:]
        var result: [ReceiverConfig] = []
        for receiver in receivers {
            let mark = YAMLMark(receiver.mark)
            if let first = seen[receiver.name] {
                self.diagnostics.error(
                    "duplicate receiver name \(YAMLNode.quote(receiver.name)) "
                        + "(\(Self.firstDefinition(first, before: mark)))",
                    at: mark
                )
                continue
            }
            seen[receiver.name] = mark
            result.append(receiver)
        }
        return result
    }

    /// `concurrency:`: how many notifications may be in flight at once, 1 to 64; the kind's default when absent.
    /// A kind that delivers serially (syslog, file, console, Alertmanager) takes only 1.
    mutating func decodeConcurrency(_ node: YAMLNode?, kind: ReceiverConfig.Kind?) -> Int {
        let fallback = kind?.defaultConcurrency ?? 1
        guard let node, let value = self.diagnostics.collect({ () throws(YAMLError) in try node.int() }) else {
            return fallback
        }
        let range = DeliverySettings.concurrencyRange
        guard range.contains(value) else {
            self.diagnostics.error(
                "concurrency must be from \(range.lowerBound) to \(range.upperBound) (notifications in flight at once; "
                    + "\(fallback) when not set), found \(value): write a number in that range, or remove the key",
                at: node.mark
            )
            return fallback
        }
        if let kind, kind.deliversSerially, value != 1 {
            self.diagnostics.error(
                "a \(kind.key) receiver delivers one notification at a time, in order; remove \"concurrency: \(value)\" "
                    + "(only webhook and email receivers deliver in parallel)",
                at: node.mark
            )
            return 1
        }
        return value
    }

    mutating func decodeDelivery(_ reader: inout YAMLMappingReader, defaultLimits: [RateLimit]) -> DeliverySettings {
        var settings = DeliverySettings(rateLimits: defaultLimits)
        if let value = self.duration(reader.optional("timeout")) { settings.timeout = value.duration }
        if let value = self.duration(reader.optional("max_age")) { settings.maxAge = value.duration }
        if let node = reader.optional("rate_limit") {
            if node.scalar?.value == "none" {
                settings.rateLimits = []
            } else if let texts = self.diagnostics.collect({ try node.oneOrList { try $0.string() } }) {
                var limits: [RateLimit] = []
                for (text, element) in zip(texts, node.elements ?? [node]) {
                    guard let limit = RateLimit(text) else {
                        self.diagnostics.error(
                            "invalid rate limit \(YAMLNode.quote(text)): expected COUNT/s, COUNT/min, COUNT/h, "
                                + "COUNT/DURATION or none",
                            at: element.mark
                        )
                        continue
                    }
                    limits.append(limit)
                }
                settings.rateLimits = limits
            }
        }
        if let node = reader.optional("retry"),
            var retry = self.diagnostics.collect({ () throws(YAMLError) in try node.mappingReader() })
        {
            if let value = self.duration(retry.optional("initial")) { settings.retryInitial = value.duration }
            if let value = self.duration(retry.optional("max")) { settings.retryMax = value.duration }
            if settings.retryMax < settings.retryInitial {
                self.diagnostics.error("retry.max must not be shorter than retry.initial", at: node.mark)
            }
            self.reportUnknownKeys(retry)
        }
        if let node = reader.optional("send_resolved"),
            let value = self.diagnostics.collect({ () throws(YAMLError) in try node.bool() })
        {
            settings.sendResolved = value
        }
        return settings
    }

    mutating func decodeWebhook(_ node: YAMLNode, file: String) -> WebhookSettings? {
        let environment = self.environment
        guard var reader = self.diagnostics.collect({ () throws(YAMLError) in try node.mappingReader() }) else {
            return nil
        }
        let format = self.diagnostics.collect { () throws(YAMLError) -> WebhookFormat in
            let value = try reader.required("format")
            let text = try value.string(oneOf: WebhookFormat.allCases.map(\.rawValue))
            return WebhookFormat(rawValue: text) ?? .generic
        }
        // A webhook url is a secret only when it carries a token: in its query, or in its path for some vendors.
        let hidingPath = format.map(Self.keepsSecretInPath) ?? false
        let url = self.secret("url", in: &reader, file: file) { URLRedaction.redact($0, hidingPath: hidingPath) != $0 }
        let signing = self.secret("secret", in: &reader, file: file)
        let routingKey = self.secret("routing_key", in: &reader, file: file)
        let apiKey = self.secret("api_key", in: &reader, file: file)
        var headers: [String: Secret] = [:]
        if let value = reader.optional("headers"),
            let pairs = self.diagnostics.collect({ try value.stringMap { try $0.string() } })
        {
            for (pair, entry) in zip(pairs, value.pairs ?? []) {
                guard Self.isHeaderName(pair.key) else {
                    self.diagnostics.error("invalid header name \(YAMLNode.quote(pair.key))", at: entry.key.mark)
                    continue
                }
                guard
                    let text = self.diagnostics.collect({ () throws(YAMLError) in
                        try Interpolation.expand(pair.value, environment: environment, at: entry.value.mark)
                    })
                else { continue }
                guard !text.contains("\r"), !text.contains("\n") else {
                    self.diagnostics.error("a header value must not hold a line break", at: entry.value.mark)
                    continue
                }
                headers[pair.key] = Secret(text)
            }
        }
        var mentions: [String] = []
        if let value = reader.optional("mentions"),
            let list = self.diagnostics.collect({ try value.oneOrList { try $0.string() } })
        {
            mentions = list
        }
        let caFile = self.readableFile(reader.optional("ca_file"), file: file)
        self.reportUnknownKeys(reader)
        guard let format else { return nil }

        var urlText = url?.0.revealed ?? format.defaultURL
        if let (secret, _) = url, secret.isEmpty, !self.secretsRequired {
            urlText = "https://unset.invalid/"
        } else if let (secret, mark) = url {
            let lowered = secret.revealed.lowercased()
            if !(lowered.hasPrefix("http://") || lowered.hasPrefix("https://")) || lowered.count <= 8 {
                // The url is a secret as a whole: only its scheme and host help here.
                self.diagnostics.error(
                    "invalid webhook url \(YAMLNode.quote(URLRedaction.redact(secret.revealed, hidingPath: true))): "
                        + "expected http:// or https://",
                    at: mark
                )
                urlText = nil
            }
        } else if urlText == nil {
            self.diagnostics.error("a \(format.rawValue) webhook needs \"url\" (or \"url_file\")", at: node.mark)
        }
        if let (_, mark) = signing, format != .dingtalk && format != .feishu {
            self.diagnostics.error(
                "\"secret\" signs dingtalk and feishu messages only; \(format.rawValue) has no signing",
                at: mark
            )
        }
        if format == .pagerduty, routingKey == nil {
            self.diagnostics.error("a pagerduty webhook needs \"routing_key\" (or \"routing_key_file\")", at: node.mark)
        }
        if format != .pagerduty, let (_, mark) = routingKey {
            self.diagnostics.error("\"routing_key\" is for pagerduty webhooks only", at: mark)
        }
        if format == .opsgenie, apiKey == nil {
            self.diagnostics.error("an opsgenie webhook needs \"api_key\" (or \"api_key_file\")", at: node.mark)
        }
        if format != .opsgenie, let (_, mark) = apiKey {
            self.diagnostics.error("\"api_key\" is for opsgenie webhooks only", at: mark)
        }
        for mention in mentions where mention.lowercased().trimmingCharacters(in: ["@"]) == "all" {
            self.diagnostics.warning(
                "\"mentions\" never sends @all: agent text cannot page a whole group; list people instead",
                at: node.mark
            )
            _ = mention
        }
        guard let urlText else { return nil }
        return WebhookSettings(
            format: format,
            url: Secret(urlText),
            redactedURL: URLRedaction.redact(urlText, hidingPath: Self.keepsSecretInPath(format)),
            signingSecret: signing?.0,
            routingKey: routingKey?.0,
            apiKey: apiKey?.0,
            headers: headers,
            mentions: mentions.filter { $0.lowercased().trimmingCharacters(in: ["@"]) != "all" },
            caFile: caFile
        )
    }

    /// Whether `format`'s URLs carry their token in the path (Slack, Feishu, Teams connectors), not the query.
    static func keepsSecretInPath(_ format: WebhookFormat) -> Bool {
        format == .slack || format == .feishu || format == .teams
    }

    static func isHeaderName(_ name: String) -> Bool {
        !name.isEmpty
            && name.unicodeScalars.allSatisfy { scalar in
                scalar.isASCII && scalar.value > 0x20 && scalar.value < 0x7F
                    && !"()<>@,;:\\\"/[]?={}".unicodeScalars.contains(scalar)
            }
    }

    mutating func decodeEmail(_ node: YAMLNode, file: String) -> EmailSettings? {
        let environment = self.environment
        guard var reader = self.diagnostics.collect({ () throws(YAMLError) in try node.mappingReader() }) else {
            return nil
        }
        let relay = self.diagnostics.collect { () throws(YAMLError) -> Relay in
            let value = try reader.required("smtp")
            let text = try Interpolation.expand(try value.string(), environment: environment, at: value.mark)
            guard let parsed = Self.relayAddress(text) else {
                throw YAMLError(
                    code: .invalidValue,
                    message: "invalid relay \(YAMLNode.quote(URLRedaction.redact(text))): "
                        + "expected smtp://HOST:PORT or smtps://HOST:PORT",
                    at: value.mark
                )
            }
            return Relay(url: text, host: parsed.host, port: parsed.port)
        }
        var tls: EmailSettings.TLSMode?
        let tlsNode = reader.optional("tls")
        if let tlsNode,
            let text = self.diagnostics.collect({ () throws(YAMLError) in
                try tlsNode.string(oneOf: EmailSettings.TLSMode.allCases.map(\.rawValue))
            })
        {
            tls = EmailSettings.TLSMode(rawValue: text)
        }
        let username = reader.optional("username").flatMap { self.expandedString($0) }
        let password = self.secret("password", in: &reader, file: file)
        let from = self.address(reader.optional("from"), key: "from", required: true, parent: node).first
        var to: [String] = []
        if let node = reader.optional("to") {
            to = self.addresses(node)
        } else {
            self.diagnostics.error("missing required key \"to\"", at: node.mark)
        }
        let caFile = self.readableFile(reader.optional("ca_file"), file: file)
        self.reportUnknownKeys(reader)
        if password != nil && username == nil {
            self.diagnostics.error("a password needs a \"username\"", at: password?.1 ?? node.mark)
        }
        guard let relay else { return nil }
        let (url, host, port) = (relay.url, relay.host, relay.port)
        let mode = tls ?? (url.lowercased().hasPrefix("smtps://") || port == 465 ? .implicit : .starttls)
        if mode == .none && !HostClassification.isLoopback(host) {
            self.diagnostics.error(
                "tls: none sends mail and passwords in clear text; it is allowed only to a loopback relay "
                    + "(127.0.0.1, ::1, localhost), not \(YAMLNode.quote(host))",
                at: tlsNode?.mark ?? node.mark
            )
        }
        guard let from, !to.isEmpty else { return nil }
        return EmailSettings(
            relayURL: url,
            tls: mode,
            username: username,
            password: password?.0,
            from: from,
            to: to,
            caFile: caFile
        )
    }

    /// An SMTP relay as written and parsed.
    struct Relay {
        var url: String
        var host: String
        var port: Int
    }

    static func relayAddress(_ text: String) -> (host: String, port: Int)? {
        let lowered = text.lowercased()
        let scheme: String
        if lowered.hasPrefix("smtp://") {
            scheme = "smtp://"
        } else if lowered.hasPrefix("smtps://") {
            scheme = "smtps://"
        } else {
            return nil
        }
        var authority = String(text.dropFirst(scheme.count))
        if let slash = authority.firstIndex(of: "/") { authority = String(authority[..<slash]) }
        if let at = authority.lastIndex(of: "@") { authority = String(authority[authority.index(after: at)...]) }
        if let (host, port) = Self.hostAndPort(authority), port > 0 { return (host, port) }
        guard !authority.isEmpty, !authority.contains(":") else { return nil }
        return (authority, scheme == "smtps://" ? 465 : 587)
    }

    /// One mail address (`from`), checked for shape and line breaks.
    mutating func address(_ node: YAMLNode?, key: String, required: Bool, parent: YAMLNode) -> [String] {
        guard let node else {
            if required { self.diagnostics.error("missing required key \"\(key)\"", at: parent.mark) }
            return []
        }
        guard let text = self.expandedString(node) else { return [] }
        return self.checkedAddress(text, at: node.mark).map { [$0] } ?? []
    }

    /// `to:`: one address or a list.
    mutating func addresses(_ node: YAMLNode) -> [String] {
        let environment = self.environment
        guard let texts = self.diagnostics.collect({ try node.oneOrList { try $0.string() } }) else { return [] }
        if texts.isEmpty { self.diagnostics.error("\"to\" lists no address", at: node.mark) }
        var result: [String] = []
        for (text, element) in zip(texts, node.elements ?? [node]) {
            guard
                let expanded = self.diagnostics.collect({ () throws(YAMLError) in
                    try Interpolation.expand(text, environment: environment, at: element.mark)
                }),
                let address = self.checkedAddress(expanded, at: element.mark)
            else { continue }
            result.append(address)
        }
        return result
    }

    mutating func checkedAddress(_ text: String, at mark: YAMLMark) -> String? {
        let bare: Substring
        if let open = text.lastIndex(of: "<"), text.hasSuffix(">") {
            bare = text[text.index(after: open)..<text.index(before: text.endIndex)]
        } else {
            bare = Substring(text)
        }
        let parts = bare.split(separator: "@", omittingEmptySubsequences: false)
        let hasControl = text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
        guard !hasControl, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !bare.contains(" ") else {
            self.diagnostics.error(
                "invalid mail address \(YAMLNode.quote(text)): expected name@example.com",
                at: mark
            )
            return nil
        }
        return text
    }

    mutating func decodeSyslog(_ node: YAMLNode) -> SyslogSettings? {
        let environment = self.environment
        guard var reader = self.diagnostics.collect({ () throws(YAMLError) in try node.mappingReader() }) else {
            return nil
        }
        let address = self.diagnostics.collect { () throws(YAMLError) -> SyslogSettings.Address in
            let value = try reader.required("address")
            let text = try Interpolation.expand(try value.string(), environment: environment, at: value.mark)
            guard let address = Self.syslogAddress(text) else {
                throw YAMLError(
                    code: .invalidValue,
                    message: "invalid syslog address \(YAMLNode.quote(text)): "
                        + "expected unix:///dev/log, udp://HOST:PORT or tcp://HOST:PORT",
                    at: value.mark
                )
            }
            return address
        }
        var format = SyslogSettings.Format.rfc5424
        if let value = reader.optional("format"),
            let text = self.diagnostics.collect({ () throws(YAMLError) in
                try value.string(oneOf: SyslogSettings.Format.allCases.map(\.rawValue))
            }),
            let parsed = SyslogSettings.Format(rawValue: text)
        {
            format = parsed
        }
        var facility = 16
        if let value = reader.optional("facility") {
            if let number = value.scalar.flatMap({ Int($0.value) }) {
                if (0...23).contains(number) {
                    facility = number
                } else {
                    self.diagnostics.error("a facility number is 0 to 23, not \(number)", at: value.mark)
                }
            } else if let text = self.diagnostics.collect({ () throws(YAMLError) in
                try value.string(oneOf: SyslogSettings.facilityNames)
            }), let index = SyslogSettings.facilityNames.firstIndex(of: text) {
                facility = index
            }
        }
        var appName = "obwatch"
        if let value = reader.optional("app_name"), let text = self.expandedString(value) {
            if text.isEmpty || text.count > 48 || !text.unicodeScalars.allSatisfy({ $0.value > 32 && $0.value < 127 }) {
                self.diagnostics.error("app_name must be 1 to 48 printable ASCII characters", at: value.mark)
            } else {
                appName = text
            }
        }
        self.reportUnknownKeys(reader)
        guard let address else { return nil }
        return SyslogSettings(address: address, format: format, facility: facility, appName: appName)
    }

    /// `file: { path: ... }`: the path relative to the config file; its folder must exist.
    mutating func decodeFileSink(_ node: YAMLNode, file: String) -> FileSettings? {
        guard var reader = self.diagnostics.collect({ () throws(YAMLError) in try node.mappingReader() }) else {
            return nil
        }
        var settings: FileSettings?
        if let value = self.diagnostics.collect({ () throws(YAMLError) in try reader.required("path") }),
            let written = self.expandedString(value)
        {
            let path = Self.resolve(written, relativeTo: file)
            var isDirectory: ObjCBool = false
            let folder = (path as NSString).deletingLastPathComponent
            if written.isEmpty {
                self.diagnostics.error("the path must not be empty", at: value.mark)
            } else if !FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory)
                || !isDirectory.boolValue
            {
                self.diagnostics.error("the folder \(Self.quotedPath(folder)) does not exist", at: value.mark)
            } else {
                settings = FileSettings(path: path)
            }
        }
        self.reportUnknownKeys(reader)
        return settings
    }

    /// `console: {}` (or `console:` with no value): nothing to set.
    mutating func decodeConsole(_ node: YAMLNode) -> ReceiverConfig.Kind? {
        guard !node.isNull else { return .console }
        guard let reader = self.diagnostics.collect({ () throws(YAMLError) in try node.mappingReader() }) else {
            return nil
        }
        self.reportUnknownKeys(reader)
        return .console
    }

    static func syslogAddress(_ text: String) -> SyslogSettings.Address? {
        let lowered = text.lowercased()
        if lowered.hasPrefix("unix://") {
            let path = String(text.dropFirst("unix://".count))
            return path.hasPrefix("/") ? .unix(path: path) : nil
        }
        for scheme in ["udp://", "tcp://"] where lowered.hasPrefix(scheme) {
            guard let (host, port) = Self.hostAndPort(String(text.dropFirst(scheme.count))), port > 0 else {
                return nil
            }
            return scheme == "udp://" ? .udp(host: host, port: port) : .tcp(host: host, port: port)
        }
        return nil
    }

    /// A receiver no rule sends to is probably a mistake.
    mutating func warnUnusedReceivers(_ receivers: [ReceiverConfig], rules: [Rule]) {
        // A rule with an error is left out; its receivers may well be used once it is fixed.
        guard self.allRulesDecoded else { return }
        let used = Set(rules.flatMap(\.receivers))
        for receiver in receivers where !used.contains(receiver.name) {
            self.diagnostics.warning(
                "receiver \(YAMLNode.quote(receiver.name)) is not used by any rule",
                at: YAMLMark(receiver.mark)
            )
        }
    }
}
