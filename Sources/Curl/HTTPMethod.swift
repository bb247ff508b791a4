/// An HTTP request method; any valid token is accepted, the common ones have constants.
package struct HTTPMethod: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The method token as sent on the request line, such as `GET`.
    package var rawValue: String

    /// Creates a method from its token. Validity is checked when the request is performed.
    /// - Parameter rawValue: The method token, case-sensitive (`GET`, not `get`).
    package init(_ rawValue: String) {
        self.rawValue = rawValue
    }

    /// Creates a method from a string literal.
    /// - Parameter value: The method token.
    package init(stringLiteral value: String) {
        self.rawValue = value
    }

    /// `GET`.
    package static let get = HTTPMethod("GET")
    /// `HEAD`: the response has headers only.
    package static let head = HTTPMethod("HEAD")
    /// `POST`.
    package static let post = HTTPMethod("POST")
    /// `PUT`.
    package static let put = HTTPMethod("PUT")
    /// `PATCH`.
    package static let patch = HTTPMethod("PATCH")
    /// `DELETE`.
    package static let delete = HTTPMethod("DELETE")
    /// `OPTIONS`.
    package static let options = HTTPMethod("OPTIONS")

    /// The method token.
    package var description: String {
        self.rawValue
    }
}
