/// An HTTP request method; any valid token is accepted, the common ones have constants.
public struct HTTPMethod: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The method token as sent on the request line, such as `GET`.
    public var rawValue: String

    /// Creates a method from its token. Validity is checked when the request is performed.
    /// - Parameter rawValue: The method token, case-sensitive (`GET`, not `get`).
    public init(_ rawValue: String) {
        self.rawValue = rawValue
    }

    /// Creates a method from a string literal.
    /// - Parameter value: The method token.
    public init(stringLiteral value: String) {
        self.rawValue = value
    }

    /// `GET`.
    public static let get = HTTPMethod("GET")
    /// `HEAD`: the response has headers only.
    public static let head = HTTPMethod("HEAD")
    /// `POST`.
    public static let post = HTTPMethod("POST")
    /// `PUT`.
    public static let put = HTTPMethod("PUT")
    /// `PATCH`.
    public static let patch = HTTPMethod("PATCH")
    /// `DELETE`.
    public static let delete = HTTPMethod("DELETE")
    /// `OPTIONS`.
    public static let options = HTTPMethod("OPTIONS")

    /// The method token.
    public var description: String {
        self.rawValue
    }
}
