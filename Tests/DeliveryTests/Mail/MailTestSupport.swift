import ConfigModel
import Foundation
import Glibc
import ObshellModel
import PeerSupport
import Tracker

/// The mail peer shipped in this test target's `MailPeers/` resource folder.
enum MailPeers {
    /// Starts the SMTP relay; its first line is the port, then one JSON line per accepted message.
    static func smtp(_ arguments: [String] = []) throws -> PeerProcess {
        guard
            let script = Bundle.module.url(
                forResource: "mail_smtp_peer",
                withExtension: "py",
                subdirectory: "MailPeers"
            )
        else {
            throw PeerError(message: "MailPeers/mail_smtp_peer.py is not in the test bundle")
        }
        return try PeerProcess.launchPython(script: script, arguments: arguments)
    }
}

/// One message as the peer reports it, with Python's reading of it.
struct MailReceived: Decodable {
    struct Parsed: Decodable {
        var headers: [String: [String]]
        var parts: [String: String]
        var defects: [String]
        var content_type: String
        var boundary: String

        /// The only value of a header (decoded and unfolded by Python), `nil` when absent or repeated.
        func header(_ name: String) -> String? {
            guard let values = self.headers[name.lowercased()], values.count == 1 else { return nil }
            return values[0]
        }
    }

    var mail_from: String
    var rcpt_tos: [String]
    var data_b64: String
    var parsed: Parsed

    var data: Data? { Data(base64Encoded: self.data_b64) }

    static func decode(_ line: String) throws -> MailReceived {
        try JSONDecoder().decode(MailReceived.self, from: Data(line.utf8))
    }
}

/// A fresh, short-named temporary directory.
func makeMailTemporaryDirectory() throws -> String {
    var template = Array("/tmp/mail-tests-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { buffer -> UnsafeMutablePointer<CChar>? in
        guard let base = buffer.baseAddress else { return nil }
        return mkdtemp(base)
    }
    guard let made else { throw PeerError(message: "mkdtemp failed: errno \(errno)") }
    return String(cString: made)
}

/// Events and notifications for the mail and syslog tests.
enum MailFixtures {
    static let target = TargetIdentity(name: "prod-east", url: "http://10.0.0.5:2886", labels: ["env": "prod"])
    static let incident = "prod-east/11/failed"

    static func time(_ text: String) -> ObshellTime {
        ObshellTime(text) ?? ObshellTime(seconds: 0, nanoseconds: 0)
    }

    static func dag(name: String = "Cluster scale out") -> Event.DagInfo {
        Event.DagInfo(
            id: "11",
            dagID: 1,
            name: name,
            stage: 4,
            maxStage: 9,
            state: "FAILED",
            operator: "RUN"
        )
    }

    static func failed(name: String = "Cluster scale out", log: String = "deploy timed out") -> Event {
        Event(
            id: EventID.make(["prod-east", "11", "failed", "1"]),
            type: .failed,
            incident: Self.incident,
            at: Self.time("2024-01-10T11:34:32.520371417+08:00"),
            target: Self.target,
            dag: Self.dag(name: name),
            subTasks: [
                Event.SubTaskInfo(
                    id: "14",
                    name: "Wait remote deploy finish",
                    state: "FAILED",
                    executeTimes: 1,
                    lastLog: log
                )
            ],
            summary: "\(name) failed at stage 4/9 on prod-east"
        )
    }

    static func retried() -> Event {
        Event(
            id: EventID.make(["prod-east", "11", "retried", "1"]),
            type: .retried,
            incident: Self.incident,
            at: Self.time("2024-01-10T11:52:07.000001+08:00"),
            target: Self.target,
            dag: Self.dag(),
            summary: "Cluster scale out runs again on prod-east"
        )
    }

    static func started() -> Event {
        Event(
            id: EventID.make(["prod-east", "12", "started", "1"]),
            type: .started,
            at: Self.time("2024-01-10T10:00:00Z"),
            target: Self.target,
            dag: Self.dag(),
            summary: "Cluster scale out started on prod-east"
        )
    }

    static func notification(_ events: [Event], receiver: String = "dba-mail") -> OutboundNotification {
        OutboundNotification(receiver: receiver, rule: "scale-out-failures", events: events)
    }

    static func settings(
        relay: String = "smtp://127.0.0.1:25",
        tls: EmailSettings.TLSMode = .none,
        username: String? = nil,
        password: String? = nil,
        to: [String] = ["dba@example.com", "DBA Team <team@example.com>"],
        caFile: String? = nil
    ) -> EmailSettings {
        EmailSettings(
            relayURL: relay,
            tls: tls,
            username: username,
            password: password.map(Secret.init),
            from: "obwatch <obwatch@example.com>",
            to: to,
            caFile: caFile
        )
    }

    /// 2026-11-24T21:14:54Z, a Tuesday.
    static let now = Date(timeIntervalSince1970: 1_795_554_894)
}

/// The header block and body of a built message, read by hand.
struct MailParts {
    /// Every header line as written (continuation lines separate).
    var headerLines: [String]
    /// Headers unfolded: (name, value) in order.
    var headers: [(name: String, value: String)]
    var body: String

    init(_ data: Data) throws {
        let text = String(decoding: data, as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { throw PeerError(message: "no end of headers") }
        self.headerLines = text[..<end.lowerBound].components(separatedBy: "\r\n")
        self.body = String(text[end.upperBound...])
        var headers: [(name: String, value: String)] = []
        for line in self.headerLines {
            if line.hasPrefix(" ") || line.hasPrefix("\t") {
                guard !headers.isEmpty else { throw PeerError(message: "continuation first") }
                headers[headers.count - 1].value += line
            } else {
                guard let colon = line.firstIndex(of: ":") else {
                    throw PeerError(message: "not a header: \(line)")
                }
                let value = line[line.index(after: colon)...]
                headers.append((String(line[..<colon]), String(value.hasPrefix(" ") ? value.dropFirst() : value)))
            }
        }
        self.headers = headers
    }

    /// The values of a header by name (case-insensitive).
    func values(_ name: String) -> [String] {
        self.headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }
}

/// Decodes RFC 2047 B and Q encoded words (whitespace between adjacent words dropped).
func decodeMailEncodedWords(_ text: String) -> String {
    var bytes: [UInt8] = []
    var pendingSpace: [UInt8] = []
    var lastWasWord = false
    var rest = Substring(text)
    while !rest.isEmpty {
        if rest.hasPrefix("=?UTF-8?B?") || rest.hasPrefix("=?utf-8?b?"),
            let end = rest.dropFirst(10).range(of: "?=")
        {
            let payload = rest[rest.index(rest.startIndex, offsetBy: 10)..<end.lowerBound]
            bytes += Data(base64Encoded: String(payload)).map { [UInt8]($0) } ?? Array("<bad>".utf8)
            rest = rest[end.upperBound...]
            pendingSpace = []
            lastWasWord = true
        } else {
            let character = rest.removeFirst()
            if character == " " && lastWasWord {
                pendingSpace.append(0x20)
            } else {
                bytes += pendingSpace + Array(String(character).utf8)
                pendingSpace = []
                lastWasWord = false
            }
        }
    }
    return String(decoding: bytes + pendingSpace, as: UTF8.self)
}

/// Decodes quoted-printable (soft breaks removed, CRLF kept as LF).
func decodeMailQuotedPrintable(_ text: String) -> String {
    var bytes: [UInt8] = []
    let input = Array(text.utf8)
    var index = 0
    while index < input.count {
        let byte = input[index]
        if byte == UInt8(ascii: "=") {
            if index + 2 < input.count && input[index + 1] == 0x0D && input[index + 2] == 0x0A {
                index += 3
                continue
            }
            if index + 2 < input.count,
                let value = UInt8(String(decoding: input[(index + 1)...(index + 2)], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                index += 3
                continue
            }
            bytes.append(byte)
        } else if byte == 0x0D && index + 1 < input.count && input[index + 1] == 0x0A {
            bytes.append(0x0A)
            index += 1
        } else {
            bytes.append(byte)
        }
        index += 1
    }
    return String(decoding: bytes, as: UTF8.self)
}
