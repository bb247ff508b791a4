#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What kind of host a name or address is: the one answer `check` and sending share.
package enum HostClassification {
    /// Whether a host is on the loopback interface, decided from its text alone (no lookup): `localhost` in any
    /// case and with or without a trailing dot, any IPv4 address in 127.0.0.0/8, `::1`, and an IPv4-mapped
    /// loopback (`::ffff:127.0.0.1`); IPv6 addresses with or without brackets.
    ///
    /// Addresses are parsed, not matched by prefix: `127.example.com` is a name that may resolve anywhere, so it
    /// is not loopback.
    package static func isLoopback(_ host: String) -> Bool {
        var name = host.lowercased()
        if name.hasSuffix(".") {
            name.removeLast()
        }
        if name == "localhost" {
            return true
        }
        if name.hasPrefix("["), name.hasSuffix("]") {
            name = String(name.dropFirst().dropLast())
        }
        var v4 = in_addr()
        if inet_pton(AF_INET, name, &v4) == 1 {
            return UInt32(bigEndian: v4.s_addr) >> 24 == 127
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, name, &v6) == 1 {
            let bytes = withUnsafeBytes(of: v6) { Array($0) }
            let loopback: [UInt8] = Array(repeating: 0, count: 15) + [1]
            let mappedPrefix: [UInt8] = Array(repeating: 0, count: 10) + [0xFF, 0xFF]
            return bytes == loopback || (Array(bytes.prefix(12)) == mappedPrefix && bytes[12] == 127)
        }
        return false
    }
}
