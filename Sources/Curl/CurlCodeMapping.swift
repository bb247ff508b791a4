import CCurl

/// Sorts libcurl's many result codes into the few kinds callers act on.
enum CurlCodeMapping {
    static func code(for result: CURLcode, kind: TransferPlan.Kind, peerCode: Int) -> CurlError.Code {
        switch result {
        case CURLE_COULDNT_CONNECT:
            return .couldNotConnect
        case CURLE_OPERATION_TIMEDOUT:
            return .timedOut
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return .resolveFailed
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
            CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
            CURLE_SSL_INVALIDCERTSTATUS, CURLE_USE_SSL_FAILED, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED,
            CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_CRL_BADFILE, CURLE_SSL_CLIENTCERT:
            return .tlsFailure
        case CURLE_UNSUPPORTED_PROTOCOL:
            return .protocolNotAllowed
        case CURLE_URL_MALFORMAT, CURLE_BAD_FUNCTION_ARGUMENT:
            return .invalidRequest
        case CURLE_LOGIN_DENIED, CURLE_AUTH_ERROR:
            return .loginDenied
        case CURLE_ABORTED_BY_CALLBACK:
            return .cancelled
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_WEIRD_SERVER_REPLY:
            // libcurl reports a refused MAIL FROM, RCPT TO or DATA as a send or receive error; the server's
            // 4xx/5xx reply code tells a refusal apart from a broken connection.
            if kind == .mail, (400..<600).contains(peerCode) {
                return .mailRejected
            }
            return result == CURLE_SEND_ERROR ? .sendFailed : .receiveFailed
        default:
            return .other
        }
    }
}
