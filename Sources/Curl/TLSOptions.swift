/// How a transfer authenticates its TLS peer.
///
/// Verification is on by default: libcurl checks the certificate chain (`CURLOPT_SSL_VERIFYPEER`) and that the
/// certificate names the host (`CURLOPT_SSL_VERIFYHOST` = 2).
///
/// ``caFile`` adds trust, it does not replace it: the file goes to `CURLOPT_CAINFO` and libcurl's built-in CA
/// directory (`/etc/ssl/certs` on Debian) is set explicitly as `CURLOPT_CAPATH`, and OpenSSL consults both. libcurl
/// itself cannot merge two bundle files; if a libcurl build had no CA directory, the file would be the only trust
/// anchor.
package struct TLSOptions: Hashable, Sendable {
    /// Whether the peer's certificate chain and host name are verified. Turning this off accepts any certificate.
    package var verifyPeer: Bool
    /// A PEM file of extra CA certificates to trust in addition to the system's.
    package var caFile: String?
    /// The directory of system CAs kept next to ``caFile``; `nil` means libcurl's built-in one. Tests point it
    /// elsewhere to observe that both sources are trusted.
    var systemCADirectory: String?

    /// Creates TLS options.
    /// - Parameters:
    ///   - verifyPeer: Whether to verify the peer's certificate and host name; `true` unless you know why not.
    ///   - caFile: A PEM file of extra CA certificates to trust.
    package init(verifyPeer: Bool = true, caFile: String? = nil) {
        self.verifyPeer = verifyPeer
        self.caFile = caFile
    }
}
