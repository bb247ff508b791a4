public import Foundation

/// A complete HTTP response, whatever its status: a 500 is a response, not an error.
public struct HTTPResponse: Sendable {
    /// The status code of the final response, such as 200 or 500.
    public var status: Int
    /// The final response's header fields as received, in order.
    public var headers: HTTPHeaders
    /// The response body, decoded from chunked transfer coding but not from any content coding.
    public var body: Data
    /// The time the whole transfer took, connection included.
    public var totalTime: Duration

    /// Creates a response; the engine builds these, tests and fakes may too.
    /// - Parameters:
    ///   - status: The status code.
    ///   - headers: The header fields.
    ///   - body: The body bytes.
    ///   - totalTime: The transfer's duration.
    public init(status: Int, headers: HTTPHeaders = [:], body: Data = Data(), totalTime: Duration = .zero) {
        self.status = status
        self.headers = headers
        self.body = body
        self.totalTime = totalTime
    }

    /// Whether the status is in the 2xx range.
    public var isSuccess: Bool {
        (200..<300).contains(self.status)
    }
}
