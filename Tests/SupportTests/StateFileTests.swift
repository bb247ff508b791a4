import Foundation
import Support
import Testing

/// A value shaped like the persisted states: nested, with a slash, keys out of order.
private struct Sample: Codable, Equatable {
    var version = 1
    var zulu = "a/b"
    var alpha: [String: Int] = ["y": 2, "x": 1]
}

@Suite("StateFile: one Codable value in one file, unreadable files set aside")
struct StateFileTests {
    @Test func aMissingFileLoadsAsNothing() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let loaded = StateFile<Sample>(url: scratch.url.appendingPathComponent("none.json")).load(timestamp: "t")
        #expect(loaded.value == nil)
        #expect(loaded.setAside == nil)
    }

    @Test func savedBytesAreSortedWithSlashesKeptAndLoadBack() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let file = StateFile<Sample>(url: scratch.url.appendingPathComponent("sub/routing.state"))
        try file.save(Sample())
        // The encoding the router state and the tracker state have always had: sorted keys, `/` unescaped.
        let text = try String(contentsOf: file.url, encoding: .utf8)
        #expect(text == #"{"alpha":{"x":1,"y":2},"version":1,"zulu":"a/b"}"#)
        let loaded = file.load(timestamp: "t")
        #expect(loaded.value == Sample())
        #expect(loaded.setAside == nil)
    }

    @Test func anUndecodableFileIsMovedAsideWithTheTimestamp() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let url = scratch.url.appendingPathComponent("routing.state")
        try Data("{not json".utf8).write(to: url)
        let loaded = StateFile<Sample>(url: url).load(timestamp: "1767225600")
        #expect(loaded.value == nil)
        let aside = scratch.url.appendingPathComponent("routing.state.corrupt-1767225600")
        #expect(loaded.setAside?.movedTo == aside)
        guard case .undecodable(let detail) = loaded.setAside?.problem else {
            Issue.record("expected an undecodable file, got \(String(describing: loaded.setAside))")
            return
        }
        #expect(!detail.isEmpty)
        #expect(try scratch.names() == ["routing.state.corrupt-1767225600"])
        #expect(try String(contentsOf: aside, encoding: .utf8) == "{not json")
    }

    @Test func aNewerVersionIsSetAsideBeforeDecodingAndLosesItsExtension() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let url = scratch.url.appendingPathComponent("db1.json")
        // Decodes as a `Sample` would not matter: the version is checked first.
        try Data(#"{"version":7,"zulu":"x","alpha":{}}"#.utf8).write(to: url)
        let file = StateFile<Sample>(url: url, newestVersion: 1, asideName: .replacingExtension)
        let loaded = file.load(timestamp: "20260101T020304Z")
        #expect(loaded.value == nil)
        #expect(loaded.setAside?.problem == .newerVersion(7))
        #expect(loaded.setAside?.movedTo == scratch.url.appendingPathComponent("db1.corrupt-20260101T020304Z"))
        #expect(try scratch.names() == ["db1.corrupt-20260101T020304Z"])
    }

    @Test func anOlderOrEqualVersionLoads() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let file = StateFile<Sample>(url: scratch.url.appendingPathComponent("db1.json"), newestVersion: 1)
        try file.save(Sample())
        #expect(file.load(timestamp: "t").value == Sample())
    }

    @Test func aSaveThatCannotWriteThrowsTheFilesError() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let blocker = scratch.url.appendingPathComponent("blocker")
        try Data().write(to: blocker)
        let file = StateFile<Sample>(url: blocker.appendingPathComponent("routing.state"))
        let error = #expect(throws: AtomicFileError.self) { try file.save(Sample()) }
        #expect(error?.code == .folderUnusable)
        #expect(error?.cause == "not a directory")
    }

    @Test func aValueThatCannotBeEncodedWritesNothing() throws {
        struct NotFinite: Codable { var value = Double.nan }
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let file = StateFile<NotFinite>(url: scratch.url.appendingPathComponent("x.state"))
        let error = #expect(throws: AtomicFileError.self) { try file.save(NotFinite()) }
        #expect(error?.code == .unencodable)
        #expect(error?.message == "cannot encode x.state")
        #expect(try scratch.names().isEmpty)
    }
}
