/// Who an event is about: the `target` object of every event.
package struct TargetIdentity: Sendable, Hashable, Codable {
    /// The target's configured name (or the name a capture gives it).
    package var name: String
    /// The agent's URL with its query and credentials already redacted by the caller; `nil` when unknown (a
    /// capture names no URL), and then absent from the JSON.
    package var url: String?
    /// The target's labels.
    package var labels: [String: String]

    /// Makes an identity.
    package init(name: String, url: String? = nil, labels: [String: String] = [:]) {
        self.name = name
        self.url = url
        self.labels = labels
    }
}
