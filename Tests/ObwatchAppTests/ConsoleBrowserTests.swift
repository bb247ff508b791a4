import Curl
import Foundation
import ObwatchTestKit
import PeerSupport
import Simulator
import Testing

@testable import ObwatchApp

#if canImport(Glibc)
import Glibc
#endif

/// The web console in a real headless Chromium (Debian's `chromium`, driven over the DevTools protocol by
/// `Tests/PeerSupport/Browser/cdp_peer.py`), against `obwatch run` polling a simulator whose clock only the test
/// moves. Every wait is a bounded poll of the DOM in the peer; nothing here sleeps.
@Suite("web console in headless Chromium", .serialized)
struct ConsoleBrowserTests {
    /// The scale-out DAG's name with markup, an event handler and a bell: the page must show all of it as text.
    static let hostileName =
        #"Cluster scale out <script>window.__injected = 1; alert(1)</script>"#
        + #"<img src=x onerror="window.__injected = 2">"# + "\u{7}"

    /// A running daemon with its status API (and write token), a webhook receiver, a simulator and a browser.
    struct Setup {
        var daemon: Child
        var hook: ReceiverPeer
        let simulator: ManualSimulator
        let browser: BrowserPeer
        let url: String
        let folder: URL

        static let writeToken = "console-write-token"

        static func start(dagName: String? = nil) async throws -> Setup {
            let executable = try NeverSilentTests.executable()
            let hook = try await ReceiverPeer.start()
            var text = try String(
                contentsOf: packageRoot.appendingPathComponent("scenarios/scale-out-fails.yaml"),
                encoding: .utf8
            )
            if let dagName {
                let quoted = dagName.replacingOccurrences(of: "\\", with: "\\\\")
                    .replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\u{7}", with: "\\a")
                text = text.replacingOccurrences(of: "name: Cluster scale out", with: "name: \"\(quoted)\"")
            }
            let simulator = try await ManualSimulator(try Scenario.parse(text, file: "console.yaml"))
            let folder = try temporaryFolder("obwatch-console")
            let statusPort = try DaemonLifecycleTests.freePort()
            let tokenFile = folder.appendingPathComponent("write.token")
            try Data((Self.writeToken + "\n").utf8).write(to: tokenFile)
            let config = try simulatorConfig(
                in: folder,
                simulator: simulator.url,
                receivers: [("hook", hook.url())],
                rules: "  - { name: dag-news, match: { event: [stage_advanced, failed, retried] }, notify: [hook] }",
                extra: """
                    http: { listen: "127.0.0.1:\(statusPort)", write_token_file: "\(tokenFile.path)" }
                    """
            )
            let daemon = try Child.launch(executable: executable, config: config.path, environment: [:], deadline: 150)
            try await RuntimeSilenceRunTests.awaitReady(statusPort)
            let browser = try await BrowserPeer.start()
            let url = "http://127.0.0.1:\(statusPort)/"
            try await browser.navigate(to: url)
            return Setup(
                daemon: daemon,
                hook: hook,
                simulator: simulator,
                browser: browser,
                url: url,
                folder: folder
            )
        }

        func stop() {
            self.browser.stop()
            kill(self.daemon.process.processIdentifier, SIGKILL)
            self.hook.stop()
            self.simulator.stop()
            try? FileManager.default.removeItem(at: self.folder)
        }

        /// The text of the first element matching `selector` inside the target `sim`'s first DAG, or `null`.
        static func dagText(_ selector: String) -> String {
            "(document.querySelector('[data-target=\"sim\"] .dag \(selector)')?.textContent ?? null)"
        }
    }

    @Test("the page shows the running DAG's stage and node, follows the scenario, and shows the failed node")
    func progress() async throws {
        let setup = try await Setup.start()
        defer { setup.stop() }
        let browser = setup.browser
        let stage = try await browser.waitUntil("stage 6", "\(Setup.dagText(".stage")) === 'stage 6 of 9' && 'ok'")
        #expect(stage as? String == "ok")
        #expect(try await browser.evaluate(Setup.dagText(".dag-name")) as? String == "Cluster scale out")
        let node = try await browser.evaluate(Setup.dagText(".current-node")) as? String
        #expect(node == "Prev check for scale_out (RUNNING)")
        let health = try await browser.evaluate(
            "document.querySelector('[data-target=\"sim\"] .health').textContent"
        )
        #expect(health as? String == "ok")

        // The scenario moves on: the page follows without a reload.
        _ = try await setup.simulator.simulator.advance(to: .seconds(12))
        _ = try await browser.waitUntil("stage 7", "\(Setup.dagText(".stage")) === 'stage 7 of 9'")
        #expect(
            try await browser.evaluate(Setup.dagText(".current-node")) as? String
                == "Add server for scale_out (RUNNING)"
        )
        let routed = try await browser.waitUntil(
            "the stage_advanced event with its route",
            "document.querySelector('#events li[data-type=\"stage_advanced\"] .route')?.textContent"
        )
        #expect(routed as? String == "dag-news → hook")

        // It fails: the failed node and its last log line, and the open incident.
        _ = try await setup.simulator.simulator.advance(to: .seconds(25))
        let failure = try await browser.waitUntil("the failed node", Setup.dagText(".failure"))
        let failureText = try #require(failure as? String)
        #expect(failureText.hasPrefix("failed at Add server for scale_out: "), "\(failureText)")
        #expect(failureText.contains("Error 4012") || failureText.contains("alter system add server"), "\(failureText)")
        let incident = try await browser.waitUntil(
            "the open incident",
            "document.querySelector('#incidents li.incident .type')?.textContent"
        )
        #expect(incident as? String == "failed")
        #expect(try await browser.pageErrors() == [])
    }

    @Test("a DAG name holding <script>, an onerror handler and a bell shows as text; nothing runs")
    func hostileName() async throws {
        let setup = try await Setup.start(dagName: Self.hostileName)
        defer { setup.stop() }
        let browser = setup.browser
        let shown = try await browser.waitUntil("the DAG's name", Setup.dagText(".dag-name"))
        #expect(shown as? String == Self.hostileName.replacingOccurrences(of: "\u{7}", with: "\\x07"))
        // The name is one text node: no element was made from it, and nothing it holds ran.
        #expect(
            try await browser.evaluate("document.querySelectorAll('#targets script, #targets img').length") as? Int == 0
        )
        #expect(try await browser.evaluate("typeof window.__injected") as? String == "undefined")
        #expect(try await browser.dialogs() == [])
        // Only obwatch's own script is on the page, and the answers forbid any other.
        #expect(
            try await browser.evaluate("Array.from(document.scripts).map(s => s.src).join(' ')") as? String
                == setup.url + "console.js"
        )
        let page = try await CurlEngine.shared.perform(HTTPRequest(url: setup.url))
        let policy = try #require(page.headers["Content-Security-Policy"])
        #expect(policy.contains("script-src 'self'") && policy.contains("default-src 'none'"), "\(policy)")
        #expect(page.headers["X-Content-Type-Options"] == "nosniff")
        #expect(page.headers["Content-Type"]?.hasPrefix("text/html") == true)
        let dags = try await CurlEngine.shared.perform(HTTPRequest(url: setup.url + "api/v1/dags"))
        #expect(dags.headers["X-Content-Type-Options"] == "nosniff")
    }

    /// The silence form's answer once the write is answered (the page shows `sending…` until then).
    static let silenceResult =
        "(t => t !== '' && t !== 'sending…' && t)(document.getElementById('silence-result').textContent)"

    @Test("a silence made in the page: 401 without the token; with it, the next event reaches no receiver; expired")
    func silenceFromPage() async throws {
        var setup = try await Setup.start()
        defer { setup.stop() }
        let browser = setup.browser
        _ = try await browser.waitUntil("the page's first poll", "document.body.dataset.loaded === 'true'")
        let fill = """
            (() => {
              const set = (id, value) => {
                const input = document.getElementById(id);
                input.value = value;
                input.dispatchEvent(new Event('input'));
              };
              set('silence-target', 'sim');
              set('silence-for', '1h');
              set('silence-comment', 'upgrading sim');
              set('author', 'dba-on-call');
              document.getElementById('silence-create').click();
              return true;
            })()
            """
        // No token typed: the API refuses, and the page says so.
        _ = try await browser.evaluate(fill)
        let refused = try await browser.waitUntil(
            "the refusal",
            Self.silenceResult
        )
        let refusal = try #require(refused as? String)
        #expect(refusal.hasPrefix("not created: HTTP 401"), "\(refusal)")
        let direct = try await CurlEngine.shared.perform(
            HTTPRequest(method: .post, url: setup.url + "api/v2/silences", body: Data("{}".utf8))
        )
        #expect(direct.status == 401)

        // With the token (kept in the tab's sessionStorage): created, and listed.
        _ = try await browser.evaluate(
            """
            (() => {
              const input = document.getElementById('write-token');
              input.value = '\(Setup.writeToken)';
              input.dispatchEvent(new Event('input'));
              return true;
            })()
            """
        )
        #expect(
            try await browser.evaluate("sessionStorage.getItem('obwatch.write-token')") as? String == Setup.writeToken
        )
        _ = try await browser.evaluate(fill)
        let created = try await browser.waitUntil(
            "the silence's creation",
            Self.silenceResult
        )
        #expect((created as? String)?.hasPrefix("silence ") == true, "\(String(describing: created))")
        let listed = try await browser.waitUntil(
            "the silence in the list",
            "document.querySelector('#silences li.silence .comment')?.textContent"
        )
        #expect(listed as? String == "upgrading sim")

        // The next matching event routes to nobody, and the hook gets nothing.
        _ = try await setup.simulator.simulator.advance(to: .seconds(12))
        let advanced = try await setup.daemon.awaitLine("stage_advanced") { $0.contains(#""type":"stage_advanced""#) }
        #expect(advanced.contains(#""routes":[{"rule":"dag-news","receivers":[]}]"#), "\(advanced)")
        try await RuntimeSilenceRunTests.expectNothingDelivered(&setup.hook)
        let route = try await browser.waitUntil(
            "the silenced event in the page",
            "document.querySelector('#events li[data-type=\"stage_advanced\"] .route')?.textContent"
        )
        #expect(route as? String == "dag-news → nobody (silenced or muted)")

        // Expired from the page: the next event reaches the hook again.
        _ = try await browser.evaluate("document.querySelector('#silences li.silence button.expire').click(), true")
        _ = try await browser.waitUntil(
            "the silence's expiry",
            "!document.querySelector('#silences li.silence') && "
                + "document.getElementById('silence-result').textContent.includes('expired')"
        )
        _ = try await setup.simulator.simulator.advance(to: .seconds(25))
        let failed = try await setup.hook.await("the failed notification") { $0.eventTypes.contains("failed") }
        #expect(failed.eventTypes == ["failed"])
    }
}
