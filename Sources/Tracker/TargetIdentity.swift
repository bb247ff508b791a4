/// Who an event is about: the `target` object of every event.
public struct TargetIdentity: Sendable, Hashable, Codable {
    /// The target's configured name (or the name a capture gives it).
    public var name: String
    /// The agent's URL with its query and credentials already redacted by the caller; `nil` when unknown (a
    /// capture names no URL), and then absent from the JSON.
    public var url: String?
    /// The target's labels.
    public var labels: [String: String]

    /// Makes an identity.
    public init(name: String, url: String? = nil, labels: [String: String] = [:]) {
        self.name = name
        self.url = url
        self.labels = labels
    }
}
