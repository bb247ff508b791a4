import ConfigModel
import Foundation
import Support
import YAML

extension ConfigDecoder {
    /// Alertmanager's default `resolve_timeout`: a re-post period at or above it lets alerts resolve on their own.
    static let alertmanagerResolveTimeout: Duration = .seconds(300)

    /// `alertmanager: {url, username + password | bearer_token, ca_file, repost_every, generator_url}`.
    mutating func decodeAlertmanager(_ node: YAMLNode, file: String) -> AlertmanagerSettings? {
        guard var reader = self.diagnostics.collect({ () throws(YAMLError) in try node.mappingReader() }) else {
            return nil
        }
        // The base URL is a secret only when it carries credentials or a query.
        let url = self.secret("url", in: &reader, file: file) { URLRedaction.redact($0) != $0 }
        let username = reader.optional("username").flatMap { self.expandedString($0) }
        let password = self.secret("password", in: &reader, file: file)
        let token = self.secret("bearer_token", in: &reader, file: file)
        let caFile = self.readableFile(reader.optional("ca_file"), file: file)
        let repostNode = reader.optional("repost_every")
        let repost = self.duration(repostNode)
        var generatorURL: String?
        if let value = reader.optional("generator_url"), let text = self.expandedString(value) {
            let lowered = text.lowercased()
            if lowered.hasPrefix("http://") || lowered.hasPrefix("https://") {
                generatorURL = text
            } else {
                self.diagnostics.error(
                    "invalid generator_url \(YAMLNode.quote(URLRedaction.redact(text))): expected http:// or https://",
                    at: value.mark
                )
            }
        }
        self.reportUnknownKeys(reader)

        var authorization: AlertmanagerSettings.Authorization?
        if let (tokenSecret, tokenMark) = token {
            if username != nil || password != nil {
                self.diagnostics.error(
                    "give \"bearer_token\" or \"username\" and \"password\", not both",
                    at: tokenMark
                )
            }
            authorization = .bearer(tokenSecret)
        } else if let username, let (passwordSecret, _) = password {
            authorization = .basic(username: username, password: passwordSecret)
        } else if password != nil {
            self.diagnostics.error("a password needs a \"username\"", at: password?.1 ?? node.mark)
        } else if username != nil {
            self.diagnostics.error(
                "a username needs a \"password\" (or \"password_file\")",
                at: node.mark
            )
        }
        if let repost, repost.duration >= Self.alertmanagerResolveTimeout {
            self.diagnostics.warning(
                "repost_every \(YAMLNode.quote(repost.text)) is not below Alertmanager's default resolve_timeout (5m): "
                    + "open alerts resolve on their own between two posts unless resolve_timeout is raised; 1m is "
                    + "a good period",
                at: repostNode?.mark ?? node.mark
            )
        }
        guard let (urlSecret, urlMark) = url else {
            self.diagnostics.error("an alertmanager receiver needs \"url\" (or \"url_file\")", at: node.mark)
            return nil
        }
        var urlText = urlSecret.revealed
        if urlText.isEmpty && !self.secretsRequired {
            urlText = "http://unset.invalid/"
        }
        let lowered = urlText.lowercased()
        guard (lowered.hasPrefix("http://") || lowered.hasPrefix("https://")) && lowered.count > 8 else {
            self.diagnostics.error(
                "invalid alertmanager url \(YAMLNode.quote(URLRedaction.redact(urlText))): "
                    + "expected http:// or https:// and Alertmanager's address, e.g. http://127.0.0.1:9093",
                at: urlMark
            )
            return nil
        }
        if lowered.contains("/api/v2/alerts") || lowered.contains("/api/v1/alerts") {
            self.diagnostics.error(
                "the alertmanager url is Alertmanager's base address (e.g. http://127.0.0.1:9093); "
                    + "obwatch appends /api/v2/alerts itself",
                at: urlMark
            )
            return nil
        }
        return AlertmanagerSettings(
            url: Secret(urlText),
            redactedURL: URLRedaction.redact(urlText),
            authorization: authorization,
            caFile: caFile,
            repostEvery: repost?.duration ?? AlertmanagerSettings.defaultRepostEvery,
            generatorURL: generatorURL
        )
    }
}
