import Cryptography
import Curl
import Foundation
import ObshellModel
import Simulator
import Testing

@Suite struct ServerTests {
    @Test func goodRequestListsTheScenarioDags() async throws {
        try await withSimulator(try bundledScenario("scale-out.yaml")) { agent in
            let response = try await agent.get("/api/v1/task/dag/unfinish?show_details=true")
            #expect(response.status == 200)
            let envelope = try ObshellDecoder.envelope(ContentList<Dag>.self, from: response.body)
            #expect(envelope.successful && envelope.status == 200 && envelope.error == nil)
            #expect(envelope.traceID?.count == 16)
            #expect(envelope.timestamp?.text.hasPrefix("2024-01-10T11:34:28.708662") == true)
            #expect(envelope.timestamp?.text.hasSuffix("+08:00") == true)
            let dag = try #require(envelope.data?.contents.first)
            #expect(dag.id == "11" && dag.name == "Cluster scale out" && dag.stage == 4 && dag.maxStage == 9)
            #expect(dag.nodes?.count == 9 && dag.additionalData == .object([]))

            try await agent.simulator.advance(by: .seconds(15))
            #expect(try await agent.unfinished().first?.stage == 5)

            try await agent.simulator.advance(to: .seconds(60))
            let empty = try await agent.get("/api/v1/task/dag/unfinish")
            #expect(empty.text.contains(#""data":{"contents":null}"#))
            let finished = try #require(try await agent.dag("11"))
            #expect(finished.state == .succeed && finished.stage == 9)
        }
    }

    @Test func lowerCaseHeaderKeysAreAccepted() async throws {
        try await withSimulator(try bundledScenario("scale-out.yaml")) { agent in
            let uri = "/api/v1/task/dag/unfinish"
            let header = try await agent.header(uri: uri, lowerCaseKeys: true)
            let response = try await agent.get(uri, headers: ["X-OCS-Header": header])
            #expect(response.status == 200)
        }
    }

    /// Each authentication failure: expected status, errCode, old code.
    @Test func authenticationFailuresAnswerAsObshell() async throws {
        try await withSimulator(try bundledScenario("scale-out.yaml")) { agent in
            let uri = "/api/v1/task/dag/unfinish?show_details=false"
            func check(_ headers: HTTPHeaders, _ status: Int, _ errCode: String, _ code: Int?) async throws {
                let response = try await agent.get(uri, headers: headers)
                #expect(response.status == status, "\(errCode)")
                let body = try failure(response)
                #expect(body.status == status && !body.successful)
                #expect(body.error.errCode == errCode)
                #expect(body.error.code == code, "\(errCode)")
                if errCode.hasSuffix("DecryptFailed") {
                    #expect(body.traceId == "")
                } else {
                    #expect(body.traceId.count == 16)
                }
            }
            try await check([:], 400, "Request.Header.NotFound", nil)
            try await check(
                ["X-OCS-Header": "bm90IGEgY2lwaGVydGV4dA=="],
                401,
                "Security.Authentication.Header.DecryptFailed",
                1
            )
            let mismatched = try await agent.header(uri: "/api/v1/task/dag/unfinish?show_details=False")
            try await check(["X-OCS-Header": mismatched], 401, "Security.Authentication.Header.UriMismatch", 10008)
            let old = String(Int64(Date().timeIntervalSince1970) - 120)
            let expired = try await agent.header(ts: old, uri: uri)
            try await check(["X-OCS-Header": expired], 401, "Security.Authentication.Expired", 10008)
            let notInteger = try await agent.header(ts: "soon", uri: uri)
            try await check(["X-OCS-Header": notInteger], 401, "Security.Authentication.Timestamp.Invalid", 10008)
            let wrong = try await agent.header(auth: "not-the-password", uri: uri)
            try await check(["X-OCS-Header": wrong], 401, "Security.Authentication.IncorrectOceanbasePassword", 10008)
            let message = try failure(try await agent.get(uri, headers: ["X-OCS-Header": wrong])).error.message
            #expect(message == "Unauthorized: OceanBase password is incorrect")
            // A JSON number for Ts does not unmarshal into Go's string field: obshell cannot read the header.
            let json = Data(#"{"Auth":"root-password","Ts":9999999999,"Uri":"\#(uri)"}"#.utf8)
            let numeric = try await agent.simulator.publicKey().encryptToBase64(json)
            try await check(["X-OCS-Header": numeric], 401, "Security.Authentication.Header.DecryptFailed", 1)
        }
    }

    @Test(arguments: [
        ("?show_details=True", true), ("?show_details=false", false), ("?show_details=0", false),
        ("", true), ("?show_details=", false), ("?show_details=T", true),
    ])
    func showDetailsParsesLikeGo(query: String, detailed: Bool) async throws {
        try await withSimulator(try bundledScenario("scale-out.yaml")) { agent in
            let response = try await agent.get("/api/v1/task/dag/unfinish" + query)
            #expect(response.status == 200)
            #expect(response.text.contains(#"{"additional_data":null,"dag_id":1,"#) == !detailed)
            #expect(response.text.contains(#"{"additional_data":{},"dag_id":1,"#) == detailed)
            #expect(response.text.contains(#""nodes":null"#) == !detailed)
            let dags = try ObshellDecoder.envelope(ContentList<Dag>.self, from: response.body).data?.contents
            #expect((dags?.first?.nodes != nil) == detailed)
            let one = try await agent.get("/api/v1/task/dag/11" + query)
            #expect((try ObshellDecoder.envelope(Dag.self, from: one.body).data?.nodes != nil) == detailed)
        }
    }

    @Test func unparsableShowDetailsIsA500() async throws {
        try await withSimulator(try bundledScenario("scale-out.yaml")) { agent in
            let response = try await agent.get("/api/v1/task/dag/unfinish?show_details=yes")
            #expect(response.status == 500)
            let body = try failure(response)
            #expect(body.error.errCode == "Common.Unexpected")
            #expect(body.error.message == "Unexpected error: Internal Server Error")
        }
    }

    @Test func failedNonMaintenanceDagLeavesTheListButStaysReadable() async throws {
        let text = """
            agent: {ip: 10.0.0.1, password: pw, utc_offset: "+08:00"}
            time_zero: "2024-01-10T00:00:00+08:00"
            dags:
              - {dag_id: 1, name: Obcluster start full backup, state: RUNNING, nodes: [a, b]}
              - {dag_id: 2, name: Cluster scale out, maintenance_type: 2, state: RUNNING, nodes: [a, b]}
            steps:
              - {at: 10s, dag: "11", do: fail, code: Common.Unexpected, message: backup failed}
              - {at: 10s, dag: "12", do: fail, message: scale out failed}
            """
        try await withSimulator(try Scenario.parse(text, file: "t.yaml")) { agent in
            #expect(try await agent.unfinished().map(\.id) == ["11", "12"])
            try await agent.simulator.advance(by: .seconds(10))
            let listed = try await agent.unfinished()
            #expect(listed.map(\.id) == ["12"])
            #expect(listed.first?.state == .failed)
            let backup = try #require(try await agent.dag("11"))
            #expect(backup.state == .failed && backup.operator == .run)
            #expect(backup.currentNode?.subTasks.first?.lastLog == "ERROR: [Common.Unexpected]: backup failed")
            #expect(backup.endTime?.text == "2024-01-10T00:00:10+08:00")
        }
    }

    @Test func unknownAndMalformedIdsAndRoutes() async throws {
        try await withSimulator(try bundledScenario("scale-out.yaml")) { agent in
            let unknown = try await agent.get("/api/v1/task/dag/199")
            #expect(unknown.status == 404)
            #expect(try failure(unknown).error.errCode == "Task.NotFound")
            #expect(try failure(unknown).error.message == "Task not found: record not found")
            #expect(try failure(unknown).error.code == nil)
            for id in ["0", "1abc", "2123456", "1"] {
                let malformed = try await agent.get("/api/v1/task/dag/" + id)
                #expect(malformed.status == 400, "\(id)")
                #expect(try failure(malformed).error.errCode == "Task.GenericID.Invalid")
            }
            let route = try await agent.get("/api/v1/nothing/here", headers: [:])
            #expect(route.status == 404)
            #expect(try failure(route).error.errCode == "Common.NotFound")
        }
    }

    @Test func unauthenticatedRoutes() async throws {
        try await withSimulator(try bundledScenario("scale-out.yaml")) { agent in
            let info = try await agent.get("/api/v1/info", headers: [:])
            let decoded = try #require(try ObshellDecoder.envelope(AgentInfo.self, from: info.body).data)
            #expect(decoded.identity == "CLUSTER AGENT" && decoded.ip == "10.10.10.1" && decoded.port == 2886)
            #expect(decoded.supportedAuth == ["v2"] && decoded.security == false && decoded.version == "4.3.5.0")
            #expect(info.text.contains(#""startAt":"#) && info.text.contains(#""pid":"#))
            let secret = try await agent.get("/api/v1/secret", headers: [:])
            let key = try #require(try ObshellDecoder.envelope(AgentSecret.self, from: secret.body).data)
            #expect(try RSAPublicKey(base64DER: key.publicKey).sizeInBits == 512)
            let status = try await agent.get("/api/v1/status", headers: [:])
            #expect(status.status == 200 && status.text.contains(#""underMaintenance":true"#))
            let time = try await agent.get("/api/v1/time", headers: [:])
            #expect(time.status == 200)
        }
    }

    @Test func faultsOfTheFlakyAgent() async throws {
        try await withSimulator(try bundledScenario("flaky-agent.yaml")) { agent in
            let uri = "/api/v1/task/dag/unfinish"
            try await agent.simulator.advance(to: .seconds(10))
            for _ in 0..<2 {
                let response = try await agent.get(uri)
                #expect(response.status == 500)
                #expect(try failure(response).error.errCode == "Common.Unexpected")
            }
            #expect(try await agent.get(uri).status == 200)

            try await agent.simulator.advance(to: .seconds(30))
            // The hung request never answers, so a short timeout cannot pass by chance; the next one has the usual
            // generous timeout, as it must be answered however loaded the machine is.
            await #expect(throws: CurlError.self) { try await agent.get(uri, timeout: .milliseconds(500)) }
            do {
                _ = try await agent.get(uri, timeout: .seconds(30))
            } catch {
                Issue.record("the hang should hit one request only: \(error)")
            }

            try await agent.simulator.advance(to: .seconds(40))
            let garbage = try await agent.get(uri)
            #expect(garbage.status == 200)
            #expect(throws: ObshellError.self) {
                try ObshellDecoder.envelope(ContentList<Dag>.self, from: garbage.body)
            }

            try await agent.simulator.advance(to: .seconds(60))
            let partial = try await agent.get(uri)
            #expect(partial.text.contains(#""contents":null"#))
            #expect(try await agent.dag("1105")?.state == .running)

            try await agent.simulator.advance(to: .seconds(90))
            #expect(try await agent.get(uri).text.contains(#""contents":null"#))
            #expect(try await agent.unfinished().map(\.id) == ["1105"])

            let oldHeader = try await agent.header(uri: uri)
            try await agent.simulator.advance(to: .seconds(100))
            let stale = try await agent.get(uri, headers: ["X-OCS-Header": oldHeader])
            #expect(stale.status == 401)
            #expect(try failure(stale).error.code == 1)
            #expect(try await agent.get(uri).status == 200)

            try await agent.simulator.advance(to: .seconds(110))
            let refused = try await agent.get(uri)
            #expect(refused.status == 401)
            #expect(try failure(refused).error.errCode == "Security.Authentication.IncorrectOceanbasePassword")
            try await agent.simulator.advance(to: .seconds(120))
            #expect(try await agent.get(uri).status == 200)
        }
    }

    @Test func unixSocketNeedsNoAuthentication() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sim-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("obshell.sock").path
        try await withSimulator(try bundledScenario("scale-out.yaml"), unixSocketPath: path) { agent in
            #expect(agent.addresses.unixSocketPath == path)
            let request = HTTPRequest(target: .unixSocket(path, requestPath: "/api/v1/task/dag/unfinish"))
            let response = try await CurlEngine.shared.perform(request)
            #expect(response.status == 200)
            let dags = try ObshellDecoder.envelope(ContentList<Dag>.self, from: response.body).data?.contents
            #expect(dags?.map(\.id) == ["11"])
            #expect(try await agent.get("/api/v1/task/dag/unfinish", headers: [:]).status == 400)
        }
    }

    @Test func singleIdentityAcceptsAnyPasswordAndListsEmptyAsArray() async throws {
        let text = """
            agent: {ip: 10.0.0.1, identity: SINGLE, password: pw}
            dags:
              - {id: "21677721610288610", dag_id: 10, name: Update observer config, state: RUNNING, nodes: [a]}
            steps:
              - {at: 5s, do: advance}
            """
        try await withSimulator(try Scenario.parse(text, file: "t.yaml")) { agent in
            let uri = "/api/v1/task/dag/unfinish"
            let header = try await agent.header(auth: "anything", uri: uri)
            let response = try await agent.get(uri, headers: ["X-OCS-Header": header])
            #expect(response.status == 200)
            #expect(try await agent.unfinished().first?.nodes?.first?.id == "2167772161028861")
            try await agent.simulator.advance(by: .seconds(5))
            #expect(try await agent.get(uri).text.contains(#""contents":[]"#))
        }
    }

    @Test func controlRouteAdvancesTheManualClock() async throws {
        try await withSimulator(try bundledScenario("scale-out.yaml")) { agent in
            let request = HTTPRequest(method: .post, url: agent.baseURL + "/_simulator/advance?by=15s")
            let response = try await CurlEngine.shared.perform(request)
            #expect(response.status == 200)
            #expect(try await agent.unfinished().first?.stage == 5)
            #expect(await agent.simulator.state().elapsed == .seconds(15))
        }
    }
}
