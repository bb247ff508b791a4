import CCurl
import Glibc

/// Process-wide libcurl set-up, done once on first use.
enum CurlGlobal {
    /// `curl_global_init`'s result. Swift runs a static initialiser exactly once, even when threads race to it, and
    /// Debian's libcurl is built `threadsafe`, so running it lazily (not strictly before any thread) is safe.
    ///
    /// Every easy handle sets `CURLOPT_NOSIGNAL`, so libcurl no longer ignores SIGPIPE on our behalf while it
    /// writes to a socket whose peer has gone (OpenSSL writes without `MSG_NOSIGNAL`). SIGPIPE is therefore set to
    /// `SIG_IGN` here, once; a daemon wants that anyway, and the write then fails with `EPIPE` instead.
    private static let initialisationCode: UInt32 = {
        _ = signal(SIGPIPE, SIG_IGN)
        return ccurl_global_init_default().rawValue
    }()

    /// libcurl's built-in CA directory (such as `/etc/ssl/certs`), or `nil` if this build has none.
    static let defaultCAPath: String? = {
        guard let path = ccurl_default_ca_path() else { return nil }
        return String(cString: path)
    }()

    /// Initialises libcurl if needed.
    /// - Throws: ``CurlError`` with code `other` if `curl_global_init` failed.
    static func initialise() throws(CurlError) {
        let code = Self.initialisationCode
        guard code == CURLE_OK.rawValue else {
            throw CurlError(
                code: .other,
                message: "libcurl could not be initialised",
                curlCode: Int(code)
            )
        }
    }
}
