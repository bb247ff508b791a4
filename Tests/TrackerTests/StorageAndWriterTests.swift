import Foundation
import ObshellModel
import Testing
import Tracker

/// `CaptureWriter` lines read back, and `StateStore` files written atomically and moved aside when unreadable.
struct StorageAndWriterTests {
    static func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("tracker-tests-\(UUID().uuidString)")
    }

    @Test func writerLinesReadBack() throws {
        let writer = CaptureWriter()
        let envelope = #"{"successful":true,"status":200,"data":{"contents":[]},"traceId":"a/b"}"#
        let pretty =
            "{\n  \"successful\": false,\n  \"status\": 500,\n  \"error\": {\"errCode\": \"Common.Unexpected\"}\n}"
        let lines = [
            writer.line(
                at: Fixture.time(0),
                target: "prod-east",
                request: "GET /api/v1/task/dag/unfinish?show_details=true",
                status: 200,
                body: Data(envelope.utf8)
            ),
            writer.line(
                at: Fixture.time(1),
                target: "prod-east",
                request: "GET /api/v1/task/dag/unfinish?show_details=true",
                status: 502,
                body: Data("<html>\nbad gateway</html>".utf8)
            ),
            writer.line(
                at: Fixture.time(2),
                target: "prod-east",
                request: "GET /api/v1/task/dag/unfinish?show_details=true",
                status: 500,
                body: Data(pretty.utf8)
            ),
            writer.line(
                at: Fixture.time(3),
                target: "prod-east",
                request: "GET /api/v1/task/dag/11?show_details=true",
                error: "timeout"
            ),
        ]
        #expect(lines[0].contains(#""body":"# + envelope + "}"))
        #expect(lines[0].hasPrefix(#"{"at":"2024-01-10T11:34:32.520371417+08:00","target":"prod-east","#))
        #expect(lines[1].contains(#""body":"<html>\nbad gateway</html>""#))
        #expect(lines.allSatisfy { !$0.contains("\n") })
        let reading = CaptureReader.read(Data(lines.joined(separator: "\n").utf8), file: "rec")
        #expect(reading.diagnostics.isEmpty)
        #expect(
            reading.entries.map(\.observation) == [
                .list([], at: Fixture.time(0)),
                .failedPoll(reason: "HTTP 502: the body is not JSON", kind: .http, at: Fixture.time(1)),
                .failedPoll(reason: "HTTP 500 Common.Unexpected", kind: .http, at: Fixture.time(2)),
                .confirmation(id: "11", result: .failed(reason: "timeout"), at: Fixture.time(3)),
            ]
        )
    }

    @Test func pollAnswersThatAreNotGoodAreFailedPolls() {
        let writer = CaptureWriter()
        let request = "GET /api/v1/task/dag/unfinish?show_details=false"
        let bodies = [
            #"{"successful":false,"status":200}"#, #"{"not":"an envelope"}"#,
            #"{"successful":true,"status":200,"data":{"contents":[{"id":"1"}]}}"#,
        ]
        let lines = bodies.enumerated().map { index, body in
            writer.line(at: Fixture.time(index), target: "t", request: request, status: 200, body: Data(body.utf8))
        }
        let reading = CaptureReader.read(Data(lines.joined(separator: "\n").utf8), file: "x")
        #expect(reading.entries.count == 3)
        for entry in reading.entries {
            guard case .failedPoll = entry.observation else {
                Issue.record("line \(entry.line) should be a failed poll")
                continue
            }
        }
    }

    @Test func stateStoreRoundTripsAndMovesCorruptFilesAside() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = StateStore(directory: directory)
        #expect(store.load(target: "prod/east", timestamp: "t0").warning == nil)

        var driver = Driver()
        driver.list(0, [Fixture.dag(stage: 4)])
        try store.save(driver.state, target: "prod/east")
        let loaded = store.load(target: "prod/east", timestamp: "t1")
        #expect(loaded.warning == nil)
        #expect(loaded.state == driver.state)
        #expect(store.fileURL(target: "prod/east").lastPathComponent == "prod%2Feast.json")

        try Data("{not json".utf8).write(to: store.fileURL(target: "prod/east"))
        let corrupt = store.load(target: "prod/east", timestamp: "t2")
        #expect(corrupt.state == TrackerState())
        #expect(corrupt.warning?.contains("corrupt-t2") == true)
        let aside = directory.appendingPathComponent("prod%2Feast.corrupt-t2")
        #expect(FileManager.default.fileExists(atPath: aside.path))
        #expect(!FileManager.default.fileExists(atPath: store.fileURL(target: "prod/east").path))

        var newer = driver.state
        newer.version = TrackerState.currentVersion + 1
        try store.save(newer, target: "prod/east")
        let refused = store.load(target: "prod/east", timestamp: "t3")
        #expect(refused.state == TrackerState())
        #expect(refused.warning?.contains("newer") == true)
    }
}
