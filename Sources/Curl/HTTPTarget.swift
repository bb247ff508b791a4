import Support

/// Where an HTTP request goes: a `http://` or `https://` URL, or a path on a server behind a unix domain socket.
///
/// A unix-socket target is sent as `http://localhost<requestPath>` over the socket (`CURLOPT_UNIX_SOCKET_PATH`), so
/// the server sees `Host: localhost`.
package struct HTTPTarget: Hashable, Sendable, CustomStringConvertible {
    enum Storage: Hashable, Sendable {
        case url(String)
        case unixSocket(socketPath: String, requestPath: String)
    }

    let storage: Storage

    private init(_ storage: Storage) {
        self.storage = storage
    }

    /// A full URL such as `https://host:2886/api/v1/status`. Only `http` and `https` are accepted when performed.
    /// - Parameter url: The URL; its user information and query never appear in errors.
    package static func url(_ url: String) -> HTTPTarget {
        HTTPTarget(.url(url))
    }

    /// A request path on an HTTP server listening on a unix domain socket.
    /// - Parameters:
    ///   - socketPath: The absolute path of the socket, such as `/home/admin/obshell/run/obshell.sock`.
    ///   - requestPath: The request target starting with `/`, optionally with a query: `/api/v1/status?x=1`.
    package static func unixSocket(_ socketPath: String, requestPath: String) -> HTTPTarget {
        HTTPTarget(.unixSocket(socketPath: socketPath, requestPath: requestPath))
    }

    /// Joins a configured base address and a request path.
    ///
    /// The base is either `http(s)://host[:port][/prefix]` or `unix:///absolute/path.sock`. A trailing `/` on the
    /// base and a missing leading `/` on the path are tolerated.
    /// - Parameters:
    ///   - base: The base address, as written in a configuration file.
    ///   - path: The request path, such as `/api/v1/task/dag/maintain/agent`.
    package init(base: String, path: String) {
        let requestPath = path.hasPrefix("/") ? path : "/" + path
        let unixPrefix = "unix://"
        if base.count >= unixPrefix.count, base.prefix(unixPrefix.count).lowercased() == unixPrefix {
            self.init(.unixSocket(socketPath: String(base.dropFirst(unixPrefix.count)), requestPath: requestPath))
        } else {
            var trimmed = Substring(base)
            while trimmed.hasSuffix("/") {
                trimmed = trimmed.dropLast()
            }
            self.init(.url(String(trimmed) + requestPath))
        }
    }

    /// The unix socket path, or `nil` for a URL target.
    package var socketPath: String? {
        if case .unixSocket(let socketPath, _) = self.storage {
            return socketPath
        }
        return nil
    }

    /// The target with credentials, query and fragment redacted, safe for logs.
    package var description: String {
        Redaction.redactedTarget(self)
    }
}
