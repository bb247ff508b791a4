package import Foundation

/// A complete HTTP response, whatever its status: a 500 is a response, not an error.
package struct HTTPResponse: Sendable {
    /// The status code of the final response, such as 200 or 500.
    package var status: Int
    /// The final response's header fields as received, in order.
    package var headers: HTTPHeaders
    /// The response body, decoded from chunked transfer coding but not from any content coding.
    package var body: Data
    /// The time the whole transfer took, connection included.
    package var totalTime: Duration

    /// Creates a response; the engine builds these, tests and fakes may too.
    /// - Parameters:
    ///   - status: The status code.
    ///   - headers: The header fields.
    ///   - body: The body bytes.
    ///   - totalTime: The transfer's duration.
    package init(status: Int, headers: HTTPHeaders = [:], body: Data = Data(), totalTime: Duration = .zero) {
        self.status = status
        self.headers = headers
        self.body = body
        self.totalTime = totalTime
    }

    /// Whether the status is in the 2xx range.
    package var isSuccess: Bool {
        (200..<300).contains(self.status)
    }
}
