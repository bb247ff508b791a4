import Foundation
import Testing

@testable import ObshellModel

@Suite("Decoding obshell answers")
struct DecodingTests {
    private func fixture(_ name: String) throws -> Data {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
        return try Data(contentsOf: url)
    }

    private func decodeList(_ json: String) throws(ObshellError) -> Envelope<ContentList<Dag>> {
        try ObshellDecoder.envelope(ContentList<Dag>.self, from: Data(json.utf8))
    }

    @Test("the documented sample: Cluster scale out at 4/9")
    func seedSample() throws {
        let envelope = try ObshellDecoder.envelope(
            ContentList<Dag>.self,
            from: try self.fixture("unfinish-scale-out.json")
        )
        #expect(envelope.successful)
        #expect(envelope.status == 200)
        #expect(envelope.traceID == "925c315c8fcf142d")
        #expect(envelope.timestamp?.text == "2024-01-10T11:34:32.520371417+08:00")
        #expect(envelope.timestamp?.nanoseconds == 520_371_417)
        let dags = try #require(envelope.data?.contents)
        #expect(dags.count == 1)
        let dag = dags[0]
        #expect(dag.id == "11")
        #expect(dag.dagID == 1)
        #expect(dag.name == "Cluster scale out")
        #expect(dag.stage == 4 && dag.maxStage == 9)
        #expect(dag.state == .running && dag.operator == .run)
        #expect(dag.nodes?.count == 9)
        #expect(dag.currentNode?.name == "Wait remote deploy finish")
        #expect(dag.currentNode?.state == .running)
        #expect(
            dag.nodes?[1].subTasks.first?.lastLog == "create local scale out dag success, genericID:22130706433028869"
        )
        #expect(dag.nodes?[0].subTasks.first?.executeAgent == SubTask.Agent(ip: "10.10.10.1", port: 2886))
        #expect(dag.additionalData == .object([]))
    }

    @Test("contents null is an empty list; a missing contents too")
    func nullContents() throws {
        let base = #"{"successful":true,"timestamp":"2024-01-10T11:34:32Z","duration":1,"status":200,"traceId":"a","#
        #expect(try self.decodeList(base + #""data":{"contents":null}}"#).data?.contents.isEmpty == true)
        #expect(try self.decodeList(base + #""data":{"contents":[]}}"#).data?.contents.isEmpty == true)
        #expect(try self.decodeList(base + #""data":{}}"#).data?.contents.isEmpty == true)
    }

    @Test("unknown states and operators are kept, not errors")
    func unknownEnums() throws {
        let json = """
            {"successful":true,"status":200,"data":{"contents":[{"id":"142","dag_id":42,"name":"x","stage":1,
            "max_stage":2,"state":"PAUSED","operator":"SUSPEND","start_time":"2024-01-10T11:34:22+08:00",
            "end_time":"2024-01-10T11:34:22+08:00","nodes":null}]}}
            """
        let dag = try #require(try self.decodeList(json).data?.contents.first)
        #expect(dag.state.rawValue == "PAUSED")
        #expect(!dag.state.isKnown && !dag.state.isActive)
        #expect(dag.operator.rawValue == "SUSPEND")
        #expect(dag.nodes == nil)
    }

    @Test("missing optional fields and unknown extra fields")
    func optionalAndExtraFields() throws {
        let json = """
            {"successful":true,"data":{"contents":[{"id":"11","name":"n","stage":1,"max_stage":1,"state":"READY",
            "operator":"RUN","brand_new_field":{"x":[1,2]},"nodes":[{"id":"11","name":"a","state":"PENDING",
            "operator":"RUN","sub_tasks":null,"also_new":true}]}]}}
            """
        let dag = try #require(try self.decodeList(json).data?.contents.first)
        #expect(dag.dagID == 0)
        #expect(dag.maintenanceType == nil)
        #expect(dag.startTime == nil && dag.endTime == nil)
        #expect(dag.nodes?.first?.subTasks.isEmpty == true)
    }

    @Test("agent text is byte-exact: CRLF, quotes, tabs, U+2028 and emoji")
    func byteExactText() throws {
        let name = "Scale \"out\"\r\nInjected: header\t🚀\u{2028}end"
        let log = "ERROR: [Agent.X]: failed\r\n@all <b>bold</b> 🔥"
        let dag = Dag(
            id: "11",
            dagID: 1,
            name: name,
            stage: 1,
            maxStage: 1,
            state: .failed,
            operator: .run,
            nodes: [
                DagNode(
                    id: "11",
                    nodeID: 1,
                    name: name,
                    state: .failed,
                    operator: .run,
                    subTasks: [
                        SubTask(id: "11", taskID: 1, name: name, state: .failed, operator: .run, taskLogs: [log])
                    ]
                )
            ]
        )
        let encoded = try JSONEncoder().encode(dag)
        let decoded = try ObshellDecoder.decode(Dag.self, from: encoded)
        #expect(decoded == dag)
        #expect(Array(decoded.name.utf8) == Array(name.utf8))
        #expect(decoded.nodes?.first?.subTasks.first?.lastLog.map { Array($0.utf8) } == Array(log.utf8))
    }

    @Test("a decoding error names the JSON path")
    func errorPaths() throws {
        let badState = """
            {"successful":true,"data":{"contents":[{"id":"11","name":"n","stage":1,"max_stage":1,"state":"READY",
            "operator":"RUN","nodes":[{"id":"11","name":"a","state":7,"operator":"RUN"}]}]}}
            """
        let error = try #require(throws: ObshellError.self) { try self.decodeList(badState) }
        #expect(error.code == .undecodable)
        #expect(error.path == "data.contents[0].nodes[0].state")
        #expect(error.message == "at data.contents[0].nodes[0].state: expected a string")

        let missingName = #"{"successful":true,"data":{"contents":[{"id":"11","stage":1}]}}"#
        let missing = try #require(throws: ObshellError.self) { try self.decodeList(missingName) }
        #expect(missing.message == #"at data.contents[0]: missing key "name""#)

        let badTime = """
            {"successful":true,"data":{"contents":[{"id":"11","name":"n","stage":1,"max_stage":1,"state":"READY",
            "operator":"RUN","start_time":"yesterday"}]}}
            """
        let time = try #require(throws: ObshellError.self) { try self.decodeList(badTime) }
        #expect(time.path == "data.contents[0].start_time")

        let notJSON = try #require(throws: ObshellError.self) { try self.decodeList("<html>502</html>") }
        #expect(notJSON.code == .undecodable)
        #expect(notJSON.message == "the body is not JSON")

        let notEnvelope = try #require(throws: ObshellError.self) { try self.decodeList(#"{"hello":1}"#) }
        #expect(notEnvelope.message == #"at (top level): missing key "successful""#)
    }

    @Test("a failed answer carries obshell's error, and its data is not read")
    func failedAnswer() throws {
        let json = """
            {"successful":false,"timestamp":"2024-01-10T11:34:32.5+08:00","duration":0,"status":401,"traceId":"",
            "data":"ignored","error":{"code":10008,"errCode":"Security.Authentication.IncorrectOceanbasePassword",
            "message":"Unauthorized: OceanBase password is incorrect"}}
            """
        let envelope = try self.decodeList(json)
        #expect(!envelope.successful)
        #expect(envelope.data == nil)
        #expect(envelope.error?.code == 10008)
        #expect(envelope.error?.errCode == "Security.Authentication.IncorrectOceanbasePassword")
    }
}

@Suite("Timestamps")
struct ObshellTimeTests {
    @Test(
        "RFC 3339 with nanoseconds round-trips and keeps its offset",
        arguments: [
            "2024-01-10T11:34:32.520371417+08:00",
            "2024-01-10T11:34:22.47652+08:00",
            "2024-01-10T03:34:22Z",
            "1970-01-01T08:00:00+08:00",
            "2026-11-24T17:58:22.000000001-05:30",
        ]
    )
    func roundTrip(text: String) throws {
        let time = try #require(ObshellTime(text))
        #expect(time.text == text)
        let formatted = ObshellTime(
            seconds: time.seconds,
            nanoseconds: time.nanoseconds,
            utcOffsetSeconds: time.utcOffsetSeconds
        )
        #expect(formatted.text == text)
        let encoded = try JSONEncoder().encode([time])
        #expect(String(decoding: encoded, as: UTF8.self) == "[\"\(text)\"]")
    }

    @Test("instants and offsets")
    func instants() throws {
        let shanghai = try #require(ObshellTime("2024-01-10T11:34:32.520371417+08:00"))
        let utc = try #require(ObshellTime("2024-01-10T03:34:32.520371417Z"))
        #expect(shanghai.seconds == utc.seconds && shanghai.nanoseconds == utc.nanoseconds)
        #expect(shanghai.seconds == 1_704_857_672)
        #expect(shanghai.utcOffsetSeconds == 28_800)
        #expect(try #require(ObshellTime("1970-01-01T08:00:00+08:00")).isEpoch)
        #expect(!shanghai.isEpoch)
        let later = shanghai.adding(.milliseconds(500))
        #expect(later.text == "2024-01-10T11:34:33.020371417+08:00")
        #expect(shanghai.duration(to: later) == .milliseconds(500))
    }

    @Test(
        "not timestamps",
        arguments: [
            "", "2024-01-10", "2024-13-10T00:00:00Z", "2024-01-10T11:34:32", "yesterday",
            "2024-01-10T11:34:32.Z", "2024-01-10T11:34:32+0800",
        ]
    )
    func rejects(text: String) {
        #expect(ObshellTime(text) == nil)
    }
}
