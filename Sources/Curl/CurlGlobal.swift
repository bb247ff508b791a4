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

    /// How many descriptors the process may hold: its soft `RLIMIT_NOFILE`, raised once to the hard limit (capped at
    /// ``descriptorCeiling``), as Go's runtime does. Kept connections to thousands of agents each hold a socket, and
    /// systemd starts services with a soft limit of 1024; libcurl waits with `poll`, never `select`, so descriptors
    /// above 1024 are safe.
    static let descriptorLimit: Int = {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        let wanted = min(limit.rlim_max, rlim_t(Self.descriptorCeiling))
        if limit.rlim_cur < wanted {
            var raised = limit
            raised.rlim_cur = wanted
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)
    }()

    /// The highest soft descriptor limit ``descriptorLimit`` asks for.
    static let descriptorCeiling = 1 << 20

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
