/// URLs made safe to show: in logs, error messages and API answers.
package enum URLRedaction {
    /// The URL with its user information, query and fragment replaced by `<redacted>` (a webhook's token or an
    /// agent's credentials never show); control characters are escaped.
    /// - Parameters:
    ///   - url: Any URL or `unix://` address, valid or not.
    ///   - hidingPath: Whether the path is hidden too (Slack and Feishu put their secret in the path).
    package static func redact(_ url: String, hidingPath: Bool = false) -> String {
        Redaction.redactedURL(url, hidingPath: hidingPath)
    }
}
