import Support

extension Redaction {
    /// A unix-socket or URL target rendered for logs.
    static func redactedTarget(_ target: HTTPTarget, hidingPath: Bool = false) -> String {
        switch target.storage {
        case .url(let url):
            return Self.redactedURL(url, hidingPath: hidingPath)
        case .unixSocket(let socketPath, let requestPath):
            let path = Self.redactingPathAndQuery(
                Substring(Self.escapingControlCharacters(requestPath)),
                hidingPath: hidingPath
            )
            return "unix://\(Self.escapingControlCharacters(socketPath)) \(path)"
        }
    }
}
