import Foundation

/// Log-safe renderings of URLs and scrubbing of secrets from libcurl's messages.
///
/// URLs are redacted by hand rather than with libcurl's parser so that even a URL libcurl rejects is rendered
/// without its secrets.
package enum Redaction {
    /// What stands in for a secret.
    package static let placeholder = "<redacted>"

    /// The URL with user information, query and fragment replaced by the placeholder; with `hidingPath`, the path too.
    package static func redactedURL(_ url: String, hidingPath: Bool = false) -> String {
        let escaped = Self.escapingControlCharacters(url)
        guard let schemeEnd = escaped.range(of: "://") else {
            // Without an authority there is no user information to find; the query may still hold a token.
            return Self.redactingPathAndQuery(Substring(escaped), hidingPath: hidingPath)
        }
        let scheme = escaped[..<schemeEnd.upperBound]
        let rest = escaped[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        var authority = String(rest[..<authorityEnd])
        if let at = authority.lastIndex(of: "@") {
            authority = Self.placeholder + authority[at...]
        }
        return scheme + authority + Self.redactingPathAndQuery(rest[authorityEnd...], hidingPath: hidingPath)
    }

    /// The secrets a URL carries, raw and percent-decoded, for scrubbing libcurl's messages.
    ///
    /// Query values shorter than four characters are left out: scrubbing `1` from `page=1` would mangle every
    /// number in a message while protecting nothing. The whole query is always included.
    package static func secrets(inURL url: String) -> [String] {
        var found: [String] = []
        if let schemeEnd = url.range(of: "://") {
            let rest = url[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@") {
                let userInfo = authority[..<at]
                found.append(String(userInfo))
                if let colon = userInfo.firstIndex(of: ":") {
                    found.append(String(userInfo[userInfo.index(after: colon)...]))
                }
            }
        }
        if let query = url.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            let tail = url[url.index(after: query)...]
            found.append(String(tail))
            for pair in tail.split(whereSeparator: { $0 == "&" || $0 == "#" }) {
                found.append(String(pair))
                if let equals = pair.firstIndex(of: "=") {
                    let value = pair[pair.index(after: equals)...]
                    if value.count >= 4 {
                        found.append(String(value))
                    }
                }
            }
        }
        let decoded = found.compactMap { $0.removingPercentEncoding }
        return Self.uniqueNonEmpty(found + decoded)
    }

    /// The text with every secret replaced by the placeholder, longest secrets first so parts do not leak.
    package static func scrub(_ text: String, secrets: [String]) -> String {
        var result = text
        for secret in Self.uniqueNonEmpty(secrets).sorted(by: { $0.count > $1.count }) {
            result = result.replacingOccurrences(of: secret, with: Self.placeholder)
        }
        return result
    }

    /// A path and query as in ``redactedURL(_:hidingPath:)``: the query and fragment, and with `hidingPath` the
    /// path, replaced by the placeholder.
    package static func redactingPathAndQuery(_ text: Substring, hidingPath: Bool) -> String {
        let queryStart = text.firstIndex { $0 == "?" || $0 == "#" }
        var path = String(text[..<(queryStart ?? text.endIndex)])
        if hidingPath, !path.isEmpty, path != "/" {
            path = "/" + Self.placeholder
        }
        guard let queryStart else { return path }
        return path + String(text[queryStart]) + Self.placeholder
    }

    /// Control characters would let a hostile URL forge log lines, so they are shown percent-encoded.
    package static func escapingControlCharacters(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                result += "%" + String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 2)
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    private static func uniqueNonEmpty(_ values: [String]) -> [String] {
        var seen = Set<String>()
        return values.filter { !$0.isEmpty && seen.insert($0).inserted }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        self.count >= width ? self : String(repeating: "0", count: width - self.count) + self
    }
}
