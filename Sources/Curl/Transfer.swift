import CCurl
import Foundation
import Support

/// What a finished transfer produced, before it is shaped into an HTTP or mail response.
struct TransferOutcome: Sendable {
    var status: Int
    var headers: [HTTPHeader]
    var body: Data
    var totalTime: Duration
}

/// The result an awaiting caller is resumed with.
///
/// Unchecked (`UnsafeContinuation`): the engine resumes each exactly once, from the one place a transfer ends or is
/// refused, and the checked kind's extra allocation and bookkeeping were measurable on every poll.
typealias TransferContinuation = UnsafeContinuation<Result<TransferOutcome, CurlError>, Never>

/// One transfer on the engine thread: the easy handle and every piece of C memory libcurl points into.
///
/// libcurl keeps pointers to the header and recipient lists, the error buffer and the request body instead of
/// copying them, so this object owns all of them and frees them only after the easy handle itself is cleaned up.
/// It is created, used and released on the engine thread only, which is why it is neither `Sendable` nor locked.
///
/// Callbacks find it through an unretained pointer (`CURLOPT_*DATA`). That is balanced without a retain because the
/// engine's table of active transfers holds the object for as long as its handle is in the multi handle, and the
/// handle leaves the multi handle before the object is dropped.
final class Transfer {
    let id: UInt64
    let plan: TransferPlan
    let continuation: TransferContinuation
    /// The `CURL *` easy handle, borrowed from the engine's pool and given back (reset) when this transfer ends.
    let easy: UnsafeMutableRawPointer
    private let handles: EasyHandlePool

    private let errorBuffer: UnsafeMutablePointer<CChar>
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var recipientList: UnsafeMutablePointer<curl_slist>?
    private var requestBody: UnsafeMutableRawBufferPointer?

    private var responseHeaders: [HTTPHeader] = []
    private var responseBody = Data()
    private var uploadOffset = 0
    /// A failure detected inside a callback, which cannot throw across libcurl's C frames.
    private var callbackFailure: CurlError?

    /// Takes an easy handle from `handles`; `nil` when libcurl cannot allocate one.
    init?(id: UInt64, plan: TransferPlan, continuation: TransferContinuation, handles: EasyHandlePool) {
        guard let easy = handles.take() else { return nil }
        self.handles = handles
        self.id = id
        self.plan = plan
        self.continuation = continuation
        self.easy = easy
        self.errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        self.errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        // The handle goes first: until it is reset (or cleaned up) libcurl may still point into the lists and buffers.
        self.handles.give(self.easy)
        curl_slist_free_all(self.headerList)
        curl_slist_free_all(self.recipientList)
        self.errorBuffer.deallocate()
        self.requestBody?.deallocate()
    }

    // MARK: - Configuration

    /// Applies the plan to the easy handle.
    /// - Throws: ``CurlError`` when libcurl refuses an option (for example one this build lacks).
    func configure() throws(CurlError) {
        let context = Unmanaged.passUnretained(self).toOpaque()
        try self.check(ccurl_easy_setopt_pointer(self.easy, CURLOPT_ERRORBUFFER, self.errorBuffer), "ERRORBUFFER")
        try self.set(CURLOPT_URL, self.plan.url, "URL")
        // Signals cannot be used for timeouts in a threaded process; see CurlGlobal for SIGPIPE.
        try self.set(CURLOPT_NOSIGNAL, 1, "NOSIGNAL")
        try self.set(CURLOPT_NOPROGRESS, 1, "NOPROGRESS")
        try self.check(
            ccurl_easy_set_allowed_protocols(self.easy, self.plan.protocolNames, self.plan.protocolMask),
            "PROTOCOLS_STR"
        )
        try self.set(CURLOPT_TIMEOUT_MS, self.plan.timeoutMilliseconds, "TIMEOUT_MS")
        try self.set(CURLOPT_CONNECTTIMEOUT_MS, self.plan.connectTimeoutMilliseconds, "CONNECTTIMEOUT_MS")
        try self.set(CURLOPT_SSL_VERIFYPEER, self.plan.tls.verifyPeer ? 1 : 0, "SSL_VERIFYPEER")
        try self.set(CURLOPT_SSL_VERIFYHOST, self.plan.tls.verifyPeer ? 2 : 0, "SSL_VERIFYHOST")
        if let caFile = self.plan.tls.caFile {
            try self.set(CURLOPT_CAINFO, caFile, "CAINFO")
            // CAINFO replaces the default bundle; naming the system directory keeps the system CAs trusted too.
            if let systemDirectory = self.plan.tls.systemCADirectory ?? CurlGlobal.defaultCAPath {
                try self.set(CURLOPT_CAPATH, systemDirectory, "CAPATH")
            }
        }

        try self.check(
            ccurl_easy_set_write_function(self.easy) { buffer, size, count, context in
                guard let context else { return 0 }
                let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
                return transfer.receiveBody(buffer, size: size, count: count)
            },
            "WRITEFUNCTION"
        )
        try self.check(ccurl_easy_setopt_pointer(self.easy, CURLOPT_WRITEDATA, context), "WRITEDATA")

        switch self.plan.kind {
        case .http:
            try self.configureHTTP(context: context)
        case .mail:
            try self.configureMail(context: context)
        }
    }

    private func configureHTTP(context: UnsafeMutableRawPointer) throws(CurlError) {
        if let socketPath = self.plan.unixSocketPath {
            try self.set(CURLOPT_UNIX_SOCKET_PATH, socketPath, "UNIX_SOCKET_PATH")
            // A local socket must never be reached through a proxy named in the environment.
            try self.set(CURLOPT_PROXY, "", "PROXY")
        }
        try self.set(CURLOPT_FOLLOWLOCATION, self.plan.followRedirects ? 1 : 0, "FOLLOWLOCATION")
        if self.plan.followRedirects {
            try self.set(CURLOPT_MAXREDIRS, 10, "MAXREDIRS")
        }

        if self.plan.method == .head {
            try self.set(CURLOPT_NOBODY, 1, "NOBODY")
        } else if let body = self.plan.body {
            // libcurl reads POSTFIELDS in place, so the bytes live in memory this object owns until deinit.
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(body.count, 1), alignment: 1)
            self.requestBody = buffer
            body.copyBytes(to: buffer.bindMemory(to: UInt8.self), count: body.count)
            try self.set(CURLOPT_POST, 1, "POST")
            try self.check(
                ccurl_easy_setopt_off(self.easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)),
                "POSTFIELDSIZE_LARGE"
            )
            try self.check(ccurl_easy_setopt_pointer(self.easy, CURLOPT_POSTFIELDS, buffer.baseAddress), "POSTFIELDS")
            if self.plan.method != .post {
                try self.set(CURLOPT_CUSTOMREQUEST, self.plan.method.rawValue, "CUSTOMREQUEST")
            }
        } else if self.plan.method == .get {
            try self.set(CURLOPT_HTTPGET, 1, "HTTPGET")
        } else {
            try self.set(CURLOPT_CUSTOMREQUEST, self.plan.method.rawValue, "CUSTOMREQUEST")
        }

        self.headerList = try self.makeList(self.plan.headerLines)
        try self.check(ccurl_easy_setopt_slist(self.easy, CURLOPT_HTTPHEADER, self.headerList), "HTTPHEADER")

        // Without a header function (and no header data) libcurl drops the header lines itself.
        guard self.plan.keepsResponseHeaders else { return }
        try self.check(
            ccurl_easy_set_header_function(self.easy) { buffer, size, count, context in
                guard let context else { return 0 }
                let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
                return transfer.receiveHeader(buffer, size: size, count: count)
            },
            "HEADERFUNCTION"
        )
        try self.check(ccurl_easy_setopt_pointer(self.easy, CURLOPT_HEADERDATA, context), "HEADERDATA")
    }

    private func configureMail(context: UnsafeMutableRawPointer) throws(CurlError) {
        let level = self.plan.requiresTLS ? CURLUSESSL_ALL : CURLUSESSL_NONE
        try self.set(CURLOPT_USE_SSL, Int(level.rawValue), "USE_SSL")
        if let credentials = self.plan.credentials {
            try self.set(CURLOPT_USERNAME, credentials.username, "USERNAME")
            try self.set(CURLOPT_PASSWORD, credentials.password, "PASSWORD")
        }
        try self.set(CURLOPT_MAIL_FROM, self.plan.mailFrom, "MAIL_FROM")
        // Every recipient in one list: setting the option once per recipient would keep only the last.
        self.recipientList = try self.makeList(self.plan.recipients)
        try self.check(ccurl_easy_setopt_slist(self.easy, CURLOPT_MAIL_RCPT, self.recipientList), "MAIL_RCPT")
        try self.check(ccurl_easy_set_mail_rcpt_allow_fails(self.easy, 0), "MAIL_RCPT_ALLOWFAILS")
        try self.set(CURLOPT_UPLOAD, 1, "UPLOAD")
        try self.check(
            ccurl_easy_setopt_off(self.easy, CURLOPT_INFILESIZE_LARGE, curl_off_t(self.plan.upload.count)),
            "INFILESIZE_LARGE"
        )
        try self.check(
            ccurl_easy_set_read_function(self.easy) { buffer, size, count, context in
                guard let context else { return Int(CURL_READFUNC_ABORT) }
                let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
                return transfer.sendUpload(buffer, size: size, count: count)
            },
            "READFUNCTION"
        )
        try self.check(ccurl_easy_setopt_pointer(self.easy, CURLOPT_READDATA, context), "READDATA")
    }

    private func makeList(_ lines: [String]) throws(CurlError) -> UnsafeMutablePointer<curl_slist>? {
        var list: UnsafeMutablePointer<curl_slist>?
        for line in lines {
            guard let extended = curl_slist_append(list, line) else {
                curl_slist_free_all(list)
                throw CurlError(code: .other, message: "out of memory building a list", url: self.plan.redactedURL)
            }
            list = extended
        }
        return list
    }

    private func set(_ option: CURLoption, _ value: Int, _ name: String) throws(CurlError) {
        try self.check(ccurl_easy_setopt_long(self.easy, option, value), name)
    }

    private func set(_ option: CURLoption, _ value: String, _ name: String) throws(CurlError) {
        try self.check(ccurl_easy_setopt_string(self.easy, option, value), name)
    }

    private func check(_ code: CURLcode, _ name: String) throws(CurlError) {
        guard code != CURLE_OK else { return }
        throw CurlError(
            code: .other,
            message: "libcurl refused option CURLOPT_\(name): \(Self.describe(code))",
            curlCode: Int(code.rawValue),
            url: self.plan.redactedURL
        )
    }

    // MARK: - Callbacks (never throw; failures are stored and reported at completion)

    private func receiveBody(_ buffer: UnsafeMutablePointer<CChar>?, size: Int, count: Int) -> Int {
        let (length, overflow) = size.multipliedReportingOverflow(by: count)
        guard !overflow else { return 0 }
        guard length > 0, let buffer else { return length }
        guard self.responseBody.count + length <= self.plan.maxResponseBytes else {
            self.callbackFailure = CurlError(
                code: .responseTooLarge,
                message: "the response body is larger than \(self.plan.maxResponseBytes) bytes",
                url: self.plan.redactedURL
            )
            // Any count other than `length` makes libcurl abort with CURLE_WRITE_ERROR.
            return 0
        }
        self.responseBody.append(UnsafeRawPointer(buffer).assumingMemoryBound(to: UInt8.self), count: length)
        return length
    }

    private func receiveHeader(_ buffer: UnsafeMutablePointer<CChar>?, size: Int, count: Int) -> Int {
        let (length, overflow) = size.multipliedReportingOverflow(by: count)
        guard !overflow else { return 0 }
        guard length > 0, let buffer else { return length }
        let bytes = UnsafeRawBufferPointer(start: buffer, count: length)
        let line = String(decoding: bytes, as: UTF8.self)
        self.absorbHeaderLine(line)
        return length
    }

    /// libcurl hands over every header line of every response (interim 1xx, redirects, trailers): a status line
    /// starts a new header block, so only the final response's headers remain.
    private func absorbHeaderLine(_ rawLine: String) {
        // Not a Character loop: "\r\n" is a single grapheme cluster in Swift.
        let line = rawLine.withoutLineEnd
        if line.isEmpty {
            return
        }
        if line.hasPrefix("HTTP/") {
            self.responseHeaders.removeAll()
            return
        }
        if let first = line.first, first == " " || first == "\t", !self.responseHeaders.isEmpty {
            // An obsolete folded continuation line belongs to the previous field.
            let index = self.responseHeaders.count - 1
            self.responseHeaders[index].value += " " + line.trimmingHTTPWhitespace
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = String(line[..<colon])
        let value = line[line.index(after: colon)...].trimmingHTTPWhitespace
        self.responseHeaders.append(HTTPHeader(name: name, value: value))
    }

    private func sendUpload(_ buffer: UnsafeMutablePointer<CChar>?, size: Int, count: Int) -> Int {
        let (capacity, overflow) = size.multipliedReportingOverflow(by: count)
        guard !overflow, let buffer else { return Int(CURL_READFUNC_ABORT) }
        let remaining = self.plan.upload.count - self.uploadOffset
        let length = min(remaining, capacity)
        guard length > 0 else { return 0 }
        let start = self.plan.upload.startIndex + self.uploadOffset
        let destination = UnsafeMutableRawPointer(buffer).assumingMemoryBound(to: UInt8.self)
        self.plan.upload.copyBytes(to: destination, from: start..<(start + length))
        self.uploadOffset += length
        return length
    }

    // MARK: - Completion

    /// Turns libcurl's verdict and what the callbacks gathered into the caller's result.
    func outcome(_ result: CURLcode) -> Result<TransferOutcome, CurlError> {
        var peerCode = 0
        _ = ccurl_easy_getinfo_long(self.easy, CURLINFO_RESPONSE_CODE, &peerCode)
        if let failure = self.callbackFailure {
            return .failure(failure)
        }
        guard result == CURLE_OK else {
            return .failure(self.error(for: result, peerCode: peerCode))
        }
        var microseconds: curl_off_t = 0
        _ = ccurl_easy_getinfo_off(self.easy, CURLINFO_TOTAL_TIME_T, &microseconds)
        return .success(
            TransferOutcome(
                status: peerCode,
                headers: self.responseHeaders,
                body: self.responseBody,
                totalTime: .microseconds(microseconds)
            )
        )
    }

    /// The error for a transfer that libcurl stopped with `result`.
    func error(for result: CURLcode, peerCode: Int) -> CurlError {
        let bufferText = String(cString: self.errorBuffer).trimmingCharacters(in: .whitespacesAndNewlines)
        let detail = bufferText.isEmpty ? nil : Redaction.scrub(bufferText, secrets: self.plan.secrets)
        let code = CurlCodeMapping.code(for: result, kind: self.plan.kind, peerCode: peerCode)
        if code == .couldNotConnect, let socketPath = self.plan.unixSocketPath {
            // libcurl words it as `localhost port 80`, the host it puts in the request line: name the socket.
            var number = 0
            _ = ccurl_easy_getinfo_long(self.easy, CURLINFO_OS_ERRNO, &number)
            return CurlError(
                code: code,
                message: Self.socketProblem(socketPath, errorNumber: Int32(clamping: number)),
                curlCode: Int(result.rawValue),
                url: self.plan.redactedURL
            )
        }
        return CurlError(
            code: code,
            message: Self.describe(result),
            curlCode: Int(result.rawValue),
            curlMessage: detail,
            url: self.plan.redactedURL,
            peerCode: peerCode > 0 ? peerCode : nil
        )
    }

    /// The error a transfer ends with when it is stopped before finishing.
    func cancellation(_ message: String) -> CurlError {
        CurlError(code: .cancelled, message: message, url: self.plan.redactedURL)
    }

    /// `no socket at PATH (No such file or directory)`, `nothing listens on PATH (Connection refused)`, `cannot
    /// connect to PATH (Permission denied)`.
    static func socketProblem(_ path: String, errorNumber: Int32) -> String {
        let shown = Redaction.escapingControlCharacters(path)
        let reason = errorNumber > 0 ? " (\(String(cString: strerror(errorNumber))))" : ""
        switch errorNumber {
        case ENOENT, ENOTDIR: return "no socket at \(shown)\(reason)"
        case ECONNREFUSED: return "nothing listens on \(shown)\(reason)"
        default: return "cannot connect to \(shown)\(reason)"
        }
    }

    static func describe(_ code: CURLcode) -> String {
        guard let text = curl_easy_strerror(code) else { return "libcurl error \(code.rawValue)" }
        return String(cString: text)
    }
}
