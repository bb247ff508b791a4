import Curl
import Foundation
import ObshellModel
import Testing

@testable import ObwatchApp

/// The console's assets and the fields the page reads, over a real loopback status server.
@Suite("web console: assets, headers and the fields it reads")
struct ConsoleRouteTests {
    @Test("the page, its style and its script load without the read token, with CSP and nosniff; data needs it")
    func assetsAndHeaders() async throws {
        let harness = try await StatusHarness(token: "read-secret")
        defer { harness.stop() }
        for (path, type) in [("/", "text/html"), ("/console.js", "text/javascript"), ("/console.css", "text/css")] {
            let reply = try await harness.get(path)
            #expect(reply.status == 200, "\(path)")
            #expect(reply.headers["Content-Type"]?.hasPrefix(type) == true, "\(path)")
            #expect(reply.headers["Content-Security-Policy"] == ConsoleAssets.contentSecurityPolicy, "\(path)")
            #expect(reply.headers["X-Content-Type-Options"] == "nosniff", "\(path)")
        }
        let page = try await harness.get("/")
        // Nothing from elsewhere, and no inline script or style for the policy to refuse.
        #expect(!page.body.contains("http://") && !page.body.contains("https://"))
        #expect(page.body.contains(#"<script src="/console.js" defer></script>"#))
        #expect(!page.body.contains("style=") && page.body.components(separatedBy: "<script").count == 2)
        let script = try await harness.get("/console.js")
        #expect(!script.body.contains("innerHTML") && !script.body.contains("insertAdjacentHTML"))
        #expect(!script.body.contains("eval(") && !script.body.contains("document.write"))
        #expect(try await harness.get("/api/v1/targets").status == 401)
        #expect(try await harness.get("/api/v1/targets", token: "read-secret").status == 200)
        #expect(try await harness.get("/console.js", method: .post).status == 405)
    }

    @Test("/api/v1/targets: config order, polled once, the last poll's result and the failures in a row")
    func targets() async throws {
        let harness = try await StatusHarness(targets: ["east", "west"])
        defer { harness.stop() }
        harness.metrics.pollFinished(target: "east", result: "ok", seconds: 0.01)
        harness.metrics.pollFinished(target: "east", result: "failed", seconds: 0.01)
        harness.metrics.pollFinished(target: "east", result: "failed", seconds: 0.01)
        harness.readiness.polled(target: "east")
        let reply = try await harness.get("/api/v1/targets")
        #expect(reply.status == 200)
        #expect(
            reply.body
                == #"[{"name":"east","polled":true,"last_poll":"failed","consecutive_failures":2,"polls":3},"#
                + #"{"name":"west","polled":false}]"# + "\n"
        )
        harness.metrics.pollFinished(target: "east", result: "ok", seconds: 0.01)
        #expect(try await harness.get("/api/v1/targets").body.contains(#""last_poll":"ok","consecutive_failures":0"#))
    }

    @Test("a DAG row adds start_time, elapsed_seconds and the failed node's last log after the documented keys")
    func dagFields() throws {
        var row = DagStatus(
            target: "east",
            id: "11",
            dagID: 1,
            name: "Cluster scale out",
            state: "FAILED",
            operator: "RUN",
            stage: 7,
            maxStage: 9,
            currentNode: .init(id: "n7", name: "Add server", state: "FAILED", lastLog: "Error 4012"),
            lastSeen: try #require(ObshellTime("2024-01-10T11:35:00+08:00")),
            lastProgress: try #require(ObshellTime("2024-01-10T11:34:40+08:00")),
            stallSeconds: 0,
            phase: "listed"
        )
        let before = row.jsonObject
        row.startTime = ObshellTime("2024-01-10T11:34:28+08:00")
        row.elapsedSeconds = 32
        row.failedNode = .init(id: "n7", name: "Add server", state: "FAILED", lastLog: "Error 4012\u{7}")
        let after = row.jsonObject
        // Backwards compatible: the old keys keep their order and values; the new ones come last.
        #expect(after.hasPrefix(String(before.dropLast()) + ","), "\(after)")
        #expect(
            after.hasSuffix(
                #""start_time":"2024-01-10T11:34:28+08:00","elapsed_seconds":32,"#
                    + #""failed_node":{"id":"n7","name":"Add server","state":"FAILED","last_log":"Error 4012\u0007"}}"#
            ),
            "\(after)"
        )
        #expect(before.contains(#""node":{"id":"n7","name":"Add server","state":"FAILED","last_log":"Error 4012"}"#))
    }
}
