import ConfigModel
import Foundation
import Support
import YAML

extension ConfigDecoder {
    /// `heartbeat:`: `url` or `url_file` (exactly one; a secret), `every`, `method`, `timeout`, `ca_file`, and
    /// `authorization` or `authorization_file` (a secret: the `Authorization` header's value, e.g. `GenieKey KEY`).
    mutating func decodeHeartbeat(_ node: YAMLNode, file: String) -> ObwatchConfig.HeartbeatSettings? {
        guard var reader = self.diagnostics.collect({ () throws(YAMLError) in try node.mappingReader() }) else {
            return nil
        }
        // A ping URL's path is its key.
        let url = self.secret("url", in: &reader, file: file) { URLRedaction.redact($0, hidingPath: true) != $0 }
        let every = self.duration(reader.optional("every"))
        var method = ObwatchConfig.HeartbeatSettings.Method.get
        if let value = reader.optional("method") {
            let allowed = ObwatchConfig.HeartbeatSettings.Method.allCases.map(\.rawValue)
            if let text = self.diagnostics.collect({ () throws(YAMLError) in try value.string(oneOf: allowed) }),
                let parsed = ObwatchConfig.HeartbeatSettings.Method(rawValue: text)
            {
                method = parsed
            }
        }
        let timeout = self.duration(reader.optional("timeout"))
        let caFile = self.readableFile(reader.optional("ca_file"), file: file)
        // Opsgenie's heartbeat ping needs `Authorization: GenieKey KEY`; most checkers need nothing.
        let authorization = self.secret("authorization", in: &reader, file: file)
        self.reportUnknownKeys(reader)

        // A wrong `every`, `method`, `timeout` or `ca_file` is recorded above, so no config comes out of this load
        // and their defaults below never run.
        guard let (secret, mark) = url else {
            // `url` and `url_file` both given is reported by `secret`; neither is reported here.
            if !reader.contains("url") && !reader.contains("url_file") {
                self.diagnostics.error("a heartbeat needs \"url\" (or \"url_file\")", at: node.mark)
            }
            return nil
        }
        var urlText = secret.revealed
        if secret.isEmpty && !self.secretsRequired {
            urlText = "https://unset.invalid/"
        } else {
            let lowered = urlText.lowercased()
            guard (lowered.hasPrefix("http://") || lowered.hasPrefix("https://")) && lowered.count > 8 else {
                // The url is a secret as a whole (a ping URL's path is its key): only its scheme and host help here.
                self.diagnostics.error(
                    "invalid heartbeat url \(YAMLNode.quote(URLRedaction.redact(urlText, hidingPath: true))): "
                        + "expected http:// or https://",
                    at: mark
                )
                return nil
            }
        }
        return ObwatchConfig.HeartbeatSettings(
            url: Secret(urlText),
            redactedURL: URLRedaction.redact(urlText, hidingPath: true),
            every: every?.duration ?? .seconds(60),
            method: method,
            timeout: timeout?.duration ?? .seconds(10),
            caFile: caFile,
            authorization: authorization.map(\.0),
            mark: SourcePosition(node.mark)
        )
    }
}
