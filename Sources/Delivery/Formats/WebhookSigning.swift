import Cryptography
import Foundation

/// The request signatures of the chat vendors that sign (receivers.md 2.3 and 2.4).
enum WebhookSigning {
    /// DingTalk: `T` in milliseconds, `sign = urlencode(base64(HMAC(key: secret, message: "T\nsecret")))`.
    /// - Returns: The query parameters to append, `timestamp=T&sign=S`.
    static func dingTalkQuery(secret: String, now: Date) -> String {
        let milliseconds = Int64((now.timeIntervalSince1970 * 1000).rounded())
        let code = HMACSHA256.authenticationCode(key: secret, message: "\(milliseconds)\n\(secret)")
        return "timestamp=\(milliseconds)&sign=" + Self.percentEncoded(code.base64EncodedString())
    }

    /// Feishu: `T` in whole seconds, `sign = base64(HMAC(key: "T\nsecret", message: ""))`; the roles of key and
    /// message are the reverse of DingTalk's.
    /// - Returns: `T` as text and the signature.
    static func feishu(secret: String, now: Date) -> (timestamp: String, sign: String) {
        let seconds = Int64(now.timeIntervalSince1970.rounded(.down))
        let code = HMACSHA256.authenticationCode(key: "\(seconds)\n\(secret)", message: "")
        return (String(seconds), code.base64EncodedString())
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters, for a query value or one path segment.
    static func percentEncoded(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                output += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return output
    }

    /// The URL with query parameters appended after its existing ones (a DingTalk URL keeps its `access_token`).
    static func appendingQuery(_ query: String, to url: String) -> String {
        let (base, fragment) = Self.splitFragment(url)
        let separator: String
        if !base.contains("?") {
            separator = "?"
        } else if base.hasSuffix("?") || base.hasSuffix("&") {
            separator = ""
        } else {
            separator = "&"
        }
        return base + separator + query + fragment
    }

    /// The URL with a path appended before its query (Opsgenie's close endpoint below the alerts URL).
    static func appendingPath(_ path: String, query: String, to url: String) -> String {
        let (withoutFragment, _) = Self.splitFragment(url)
        var base = withoutFragment
        var existingQuery = ""
        if let mark = withoutFragment.firstIndex(of: "?") {
            base = String(withoutFragment[..<mark])
            existingQuery = String(withoutFragment[withoutFragment.index(after: mark)...])
        }
        while base.hasSuffix("/") { base.removeLast() }
        var result = base + "/" + path + "?" + query
        if !existingQuery.isEmpty { result += "&" + existingQuery }
        return result
    }

    private static func splitFragment(_ url: String) -> (String, String) {
        guard let mark = url.firstIndex(of: "#") else { return (url, "") }
        return (String(url[..<mark]), String(url[mark...]))
    }
}
