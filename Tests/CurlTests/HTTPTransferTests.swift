import Curl
import Foundation
import PeerSupport
import Testing

/// HTTP transfers against a real Python server on loopback, started and stopped by each test.
@Suite(.timeLimit(.minutes(2)))
struct HTTPTransferTests {
    let engine = CurlEngine.shared

    @Test func getSendsHeadersAndReceivesThem() async throws {
        try await withPeer(Peers.http()) { _, port in
            let request = HTTPRequest(
                url: "http://127.0.0.1:\(port)/echo?a=1&b=two",
                headers: ["X-Trace": "t-1", "Accept": "application/json", "X-Trace": "t-2"]
            )
            let response = try await self.engine.perform(request)
            #expect(response.status == 200)
            #expect(response.isSuccess)
            #expect(response.headers["content-type"] == "application/json")
            #expect(response.headers["CONTENT-LENGTH"] == String(response.body.count))
            #expect(response.totalTime > .zero)
            let echo = try Echo.decode(response.body)
            #expect(echo.method == "GET")
            #expect(echo.path == "/echo")
            #expect(echo.query == "a=1&b=two")
            #expect(echo.header("accept") == "application/json")
            #expect(echo.headers.filter { $0.first == "X-Trace" }.map { $0.last } == ["t-1", "t-2"])
            #expect(echo.header("Expect") == nil)
        }
    }

    @Test func postSendsJSONBodyWithContentType() async throws {
        try await withPeer(Peers.http()) { _, port in
            let json = #"{"name":"dag","id":42}"#
            let request = HTTPRequest(
                method: .post,
                url: "http://127.0.0.1:\(port)/echo",
                headers: ["Content-Type": "application/json"],
                body: Data(json.utf8)
            )
            let response = try await self.engine.perform(request)
            #expect(response.status == 200)
            let echo = try Echo.decode(response.body)
            #expect(echo.method == "POST")
            #expect(echo.body == json)
            #expect(echo.header("Content-Type") == "application/json")
            #expect(echo.header("Content-Length") == String(json.utf8.count))
        }
    }

    @Test func bodyWithoutContentTypeIsNotLabelledAsAForm() async throws {
        try await withPeer(Peers.http()) { _, port in
            let large = String(repeating: "z", count: 4096)
            let request = HTTPRequest(method: .post, url: "http://127.0.0.1:\(port)/echo", body: Data(large.utf8))
            let echo = try Echo.decode(try await self.engine.perform(request).body)
            #expect(echo.header("Content-Type") == nil)
            #expect(echo.header("Expect") == nil)
            #expect(echo.body == large)
        }
    }

    @Test(arguments: [HTTPMethod.put, .patch, .delete, "PROPFIND"])
    func otherMethodsAreSentAsGiven(method: HTTPMethod) async throws {
        try await withPeer(Peers.http()) { _, port in
            let body: Data? = method == .delete ? nil : Data("payload".utf8)
            let request = HTTPRequest(method: method, url: "http://127.0.0.1:\(port)/echo", body: body)
            let response = try await self.engine.perform(request)
            // http.server answers 501 for methods it has no handler for, which is still a response.
            if method.rawValue == "PROPFIND" {
                #expect(response.status == 501)
                return
            }
            let echo = try Echo.decode(response.body)
            #expect(echo.method == method.rawValue)
            #expect(echo.body == (body == nil ? "" : "payload"))
        }
    }

    @Test func headRequestReturnsHeadersOnly() async throws {
        try await withPeer(Peers.http()) { _, port in
            let response = try await self.engine.perform(
                HTTPRequest(method: .head, url: "http://127.0.0.1:\(port)/bytes?n=10")
            )
            #expect(response.status == 200)
            #expect(response.headers["Content-Length"] == "10")
            #expect(response.body.isEmpty)
        }
    }

    @Test func responseHeadersKeepOrderAndRepeats() async throws {
        try await withPeer(Peers.http()) { _, port in
            let response = try await self.engine.perform(
                HTTPRequest(url: "http://127.0.0.1:\(port)/headers?X-Custom=abc&X-Other=d%20e")
            )
            #expect(response.headers["x-custom"] == "abc")
            #expect(response.headers["X-OTHER"] == "d e")
            #expect(response.headers.values(for: "x-repeated") == ["one", "two"])
            let names = response.headers.map(\.name)
            let custom = try #require(names.firstIndex(of: "X-Custom"))
            let other = try #require(names.firstIndex(of: "X-Other"))
            #expect(custom < other)
            #expect(!response.headers.contains(name: "HTTP/1.1 200 OK"))
        }
    }

    @Test func serverErrorIsAResponseNotAnError() async throws {
        try await withPeer(Peers.http()) { _, port in
            let response = try await self.engine.perform(HTTPRequest(url: "http://127.0.0.1:\(port)/status/500"))
            #expect(response.status == 500)
            #expect(!response.isSuccess)
            #expect(String(decoding: response.body, as: UTF8.self) == "status 500\n")
        }
    }

    @Test func requestTimeoutIsTyped() async throws {
        try await withPeer(Peers.http()) { _, port in
            // The route never answers, so the timeout fires however fast or slow the machine is.
            let request = HTTPRequest(url: "http://127.0.0.1:\(port)/hang", timeout: .milliseconds(300))
            let error = await #expect(throws: CurlError.self) { try await self.engine.perform(request) }
            #expect(error?.code == .timedOut)
            #expect(error?.curlCode == 28)
        }
    }

    @Test func refusedConnectionIsTyped() async throws {
        let port = try closedLoopbackPort()
        let error = await #expect(throws: CurlError.self) {
            try await self.engine.perform(HTTPRequest(url: "http://127.0.0.1:\(port)/x"))
        }
        #expect(error?.code == .couldNotConnect)
        #expect(error?.curlCode == 7)
        #expect(error?.url == "http://127.0.0.1:\(port)/x")
    }

    @Test func errorsNeverShowCredentialsOrQuery() async throws {
        let port = try closedLoopbackPort()
        let url = "http://user:secret@127.0.0.1:\(port)/x?token=abc"
        let error = await #expect(throws: CurlError.self) {
            try await self.engine.perform(HTTPRequest(url: url))
        }
        let text = try #require(error).description
        #expect(error?.code == .couldNotConnect)
        #expect(!text.contains("secret"))
        #expect(!text.contains("abc"))
        #expect(!text.contains("user:"))
        #expect(text.contains("http://<redacted>@127.0.0.1:\(port)/x?<redacted>"))
    }

    @Test func unixSocketTarget() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socketPath = directory + "/obshell.sock"
        try await withPeer(Peers.http(["--unix", socketPath])) { _, ready in
            #expect(ready == "ready")
            let direct = try await self.engine.perform(
                HTTPRequest(target: .unixSocket(socketPath, requestPath: "/echo?via=unix"))
            )
            #expect(direct.status == 200)
            let echo = try Echo.decode(direct.body)
            #expect(echo.path == "/echo")
            #expect(echo.query == "via=unix")
            #expect(echo.header("Host") == "localhost")

            let configured = HTTPTarget(base: "unix://" + socketPath, path: "status/204")
            #expect(configured.socketPath == socketPath)
            let response = try await self.engine.perform(HTTPRequest(target: configured))
            #expect(response.status == 204)
        }
    }

    @Test func missingUnixSocketCannotConnect() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let error = await #expect(throws: CurlError.self) {
            try await self.engine.perform(
                HTTPRequest(target: .unixSocket(directory + "/absent.sock", requestPath: "/x"))
            )
        }
        #expect(error?.code == .couldNotConnect)
        // The socket's path and the system's reason, not libcurl's `localhost port 80`.
        #expect(error?.message == "no socket at \(directory)/absent.sock (No such file or directory)")
        #expect(error?.description.contains("port 80") == false)
    }

    @Test func cancellingTheTaskCancelsTheTransfer() async throws {
        try await withPeer(Peers.http()) { peer, port in
            let marker = UUID().uuidString
            // A long timeout: if cancellation did nothing, the error would be timedOut, not cancelled.
            let request = HTTPRequest(
                url: "http://127.0.0.1:\(port)/hang",
                headers: ["X-Marker": marker],
                timeout: .seconds(100)
            )
            let engine = self.engine
            let task = Task { () async throws(CurlError) -> HTTPResponse in
                try await engine.perform(request)
            }
            // The peer prints the marker once the request has reached it.
            let reached = try await peer.nextLine()
            #expect(reached == "hang \(marker)")
            task.cancel()
            let result = await task.result
            guard case .failure(let error as CurlError) = result else {
                Issue.record("a cancelled transfer returned a response")
                return
            }
            #expect(error.code == .cancelled)
        }
    }

    @Test func alreadyCancelledTaskNeverStartsATransfer() async throws {
        let port = try closedLoopbackPort()
        let (gate, opener) = AsyncStream<Void>.makeStream()
        let engine = self.engine
        let task = Task { () async throws(CurlError) -> HTTPResponse in
            for await _ in gate {}
            return try await engine.perform(HTTPRequest(url: "http://127.0.0.1:\(port)/x"))
        }
        task.cancel()
        opener.finish()
        guard case .failure(let error as CurlError) = await task.result else {
            Issue.record("a cancelled task got a response")
            return
        }
        // Not couldNotConnect: the transfer was never attempted.
        #expect(error.code == .cancelled)
    }

    @Test func twoHundredConcurrentRequestsAllSucceed() async throws {
        try await withPeer(Peers.http()) { _, port in
            let engine = self.engine
            let count = 200
            let results = try await withThrowingTaskGroup(of: (Int, String, String).self) { group in
                for index in 0..<count {
                    group.addTask {
                        let request = HTTPRequest(
                            method: .post,
                            url: "http://127.0.0.1:\(port)/echo?i=\(index)",
                            headers: ["Content-Type": "text/plain"],
                            body: Data("request-\(index)".utf8)
                        )
                        let response = try await engine.perform(request)
                        let echo = try Echo.decode(response.body)
                        return (index, echo.body, echo.query)
                    }
                }
                var collected: [(Int, String, String)] = []
                for try await result in group {
                    collected.append(result)
                }
                return collected
            }
            #expect(results.count == count)
            for (index, body, query) in results {
                #expect(body == "request-\(index)")
                #expect(query == "i=\(index)")
            }
        }
    }

    @Test func hungTransfersBlockNeitherOthersNorTheCooperativePool() async throws {
        try await withPeer(Peers.http()) { peer, port in
            let engine = self.engine
            let hanging = 50
            try await withThrowingTaskGroup(of: CurlError.Code?.self) { group in
                for index in 0..<hanging {
                    group.addTask {
                        let request = HTTPRequest(
                            url: "http://127.0.0.1:\(port)/hang",
                            headers: ["X-Marker": "h\(index)"],
                            timeout: .seconds(100)
                        )
                        do throws(CurlError) {
                            _ = try await engine.perform(request)
                            return nil
                        } catch {
                            return error.code
                        }
                    }
                }
                var reached = Set<String>()
                while reached.count < hanging {
                    reached.insert(try await peer.nextLine())
                }
                // Every hung transfer is in flight, yet a new request completes (the pool has 2 threads here).
                let response = try await engine.perform(HTTPRequest(url: "http://127.0.0.1:\(port)/status/204"))
                #expect(response.status == 204)

                group.cancelAll()
                var codes: [CurlError.Code?] = []
                for try await code in group {
                    codes.append(code)
                }
                #expect(codes.count == hanging)
                #expect(codes.allSatisfy { $0 == .cancelled })
            }
        }
    }

    @Test func sequentialRequestsReuseTheConnection() async throws {
        try await withPeer(Peers.http()) { _, port in
            let engine = CurlEngine()
            defer { engine.shutdown() }
            let first = try Echo.decode(
                try await engine.perform(HTTPRequest(url: "http://127.0.0.1:\(port)/echo")).body
            )
            let second = try Echo.decode(
                try await engine.perform(HTTPRequest(url: "http://127.0.0.1:\(port)/echo")).body
            )
            #expect(first.client == second.client)
        }
    }

    /// With many agents and few requests in flight, libcurl's default cache (4 per handle in flight) closed most
    /// connections after each request; the engine keeps one per peer, up to its bound.
    @Test func roundRobinOverManyPeersKeepsOneConnectionEach() async throws {
        try await self.withPeers(6) { ports in
            let engine = CurlEngine()
            defer { engine.shutdown() }
            for _ in 0..<3 {
                for port in ports {
                    let response = try await engine.perform(HTTPRequest(url: "http://127.0.0.1:\(port)/echo"))
                    #expect(response.status == 200)
                }
            }
            #expect(engine.statistics == CurlEngine.Statistics(transfers: 18, connectionsOpened: 6))
        }
    }

    @Test func idleConnectionsBeyondTheBoundAreClosed() async throws {
        try await self.withPeers(3) { ports in
            let engine = CurlEngine(maxIdleConnections: 2)
            defer { engine.shutdown() }
            #expect(engine.maxIdleConnections == 2)
            for _ in 0..<2 {
                for port in ports {
                    _ = try await engine.perform(HTTPRequest(url: "http://127.0.0.1:\(port)/echo"))
                }
            }
            // A B C A B C with room for two: the second round opens connections again (libcurl closes the one idle
            // longest, which requests within one millisecond can leave open, so not necessarily all three).
            let statistics = engine.statistics
            #expect(statistics.transfers == 6)
            #expect((4...6).contains(statistics.connectionsOpened))
        }
    }

    @Test func aConnectionThePeerClosedIsReplacedWithoutAnError() async throws {
        try await withPeer(Peers.http()) { _, port in
            let engine = CurlEngine()
            defer { engine.shutdown() }
            let dropped = try await engine.perform(HTTPRequest(url: "http://127.0.0.1:\(port)/drop"))
            #expect(dropped.status == 200)
            let first = try Echo.decode(
                try await engine.perform(HTTPRequest(url: "http://127.0.0.1:\(port)/echo")).body
            )
            let second = try Echo.decode(
                try await engine.perform(HTTPRequest(url: "http://127.0.0.1:\(port)/echo")).body
            )
            #expect(first.client == second.client)
            #expect(engine.statistics == CurlEngine.Statistics(transfers: 3, connectionsOpened: 2))
        }
    }

    /// Runs `body` with the ports of `count` HTTP peers, stopping them all afterwards.
    private func withPeers(_ count: Int, _ body: ([String]) async throws -> Void) async throws {
        var peers: [PeerProcess] = []
        do {
            var ports: [String] = []
            for _ in 0..<count {
                let peer = try Peers.http()
                peers.append(peer)
                ports.append(try await peer.nextLine())
            }
            try await body(ports)
        } catch {
            for peer in peers { await peer.stop() }
            throw error
        }
        for peer in peers { await peer.stop() }
    }

    @Test func oversizedBodyIsRefused() async throws {
        try await withPeer(Peers.http()) { _, port in
            var request = HTTPRequest(url: "http://127.0.0.1:\(port)/bytes?n=5000")
            request.maxResponseBytes = 1000
            let error = await #expect(throws: CurlError.self) { try await self.engine.perform(request) }
            #expect(error?.code == .responseTooLarge)

            request.maxResponseBytes = 5000
            let allowed = try await self.engine.perform(request)
            #expect(allowed.body.count == 5000)
        }
    }

    @Test func redirectsAreNotFollowedByDefault() async throws {
        try await withPeer(Peers.http()) { _, port in
            let location = "http://127.0.0.1:\(port)/echo"
            let url = "http://127.0.0.1:\(port)/redirect?to=\(location)"
            let notFollowed = try await self.engine.perform(HTTPRequest(url: url))
            #expect(notFollowed.status == 302)
            #expect(notFollowed.headers["Location"] == location)

            var following = HTTPRequest(url: url)
            following.followRedirects = true
            let followed = try await self.engine.perform(following)
            #expect(followed.status == 200)
            #expect(try Echo.decode(followed.body).path == "/echo")
            // Only the final response's headers are kept.
            #expect(followed.headers["Location"] == nil)
        }
    }

    @Test func redirectsToOtherProtocolsAreRefused() async throws {
        try await withPeer(Peers.http()) { _, port in
            var request = HTTPRequest(url: "http://127.0.0.1:\(port)/redirect?to=file:///etc/passwd")
            request.followRedirects = true
            let error = await #expect(throws: CurlError.self) { try await self.engine.perform(request) }
            #expect(error?.code == .protocolNotAllowed)
        }
    }

    @Test func shutdownCancelsTransfersAndRefusesNewOnes() async throws {
        try await withPeer(Peers.http()) { peer, port in
            let engine = CurlEngine()
            let marker = UUID().uuidString
            let request = HTTPRequest(
                url: "http://127.0.0.1:\(port)/hang",
                headers: ["X-Marker": marker],
                timeout: .seconds(100)
            )
            let task = Task { () async throws(CurlError) -> HTTPResponse in
                try await engine.perform(request)
            }
            let reached = try await peer.nextLine()
            #expect(reached == "hang \(marker)")
            engine.shutdown()
            guard case .failure(let error as CurlError) = await task.result else {
                Issue.record("a transfer survived shutdown")
                return
            }
            #expect(error.code == .cancelled)
            let late = await #expect(throws: CurlError.self) {
                try await engine.perform(HTTPRequest(url: "http://127.0.0.1:\(port)/echo"))
            }
            #expect(late?.code == .cancelled)
        }
    }
}

/// The engine's thread as a task executor: a task that prefers it sends and reads there, with no hand-off.
@Suite(.timeLimit(.minutes(2)))
struct EngineExecutorTests {
    /// An actor without an executor of its own: a task that prefers the engine runs its methods there too.
    actor Tally {
        var count = 0
        func add() -> Bool {
            self.count += 1
            return CurlEngine.shared.isCurrentThread
        }
    }

    @Test func aTaskThatPrefersTheEngineRunsOnItsThreadBeforeAndAfterItsTransfers() async throws {
        try await withPeer(Peers.http()) { _, port in
            let engine = CurlEngine.shared
            #expect(!engine.isCurrentThread)
            let tally = Tally()
            let placements = try await withTaskExecutorPreference(engine.taskExecutor) {
                () async throws -> [Bool] in
                var placements = [engine.isCurrentThread]
                for _ in 0..<3 {
                    let response = try await engine.perform(HTTPRequest(url: "http://127.0.0.1:\(port)/echo"))
                    #expect(response.status == 200)
                    placements.append(engine.isCurrentThread)
                    placements.append(await tally.add())
                }
                return placements
            }
            #expect(placements == Array(repeating: true, count: 7))
            #expect(await tally.count == 3)
        }
    }

    @Test func unstructuredTasksDoNotInheritThePreference() async {
        let engine = CurlEngine.shared
        let placed = await withTaskExecutorPreference(engine.taskExecutor) {
            await Task { engine.isCurrentThread }.value
        }
        #expect(!placed)
    }

    @Test func aShutDownEngineStillRunsItsTasksToTheEnd() async throws {
        try await withPeer(Peers.http()) { _, port in
            let engine = CurlEngine()
            engine.shutdown()
            let outcome = await withTaskExecutorPreference(engine.taskExecutor) {
                () async -> CurlError.Code? in
                do {
                    _ = try await engine.perform(HTTPRequest(url: "http://127.0.0.1:\(port)/echo"))
                    return nil
                } catch {
                    return (error as? CurlError)?.code
                }
            }
            #expect(outcome == .cancelled)
        }
    }
}
