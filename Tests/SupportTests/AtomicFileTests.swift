import Foundation
import Support
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A scratch folder under the system's temporary folder, removed by `remove()`.
struct ScratchFolder {
    let url: URL

    init() throws {
        self.url = FileManager.default.temporaryDirectory.appendingPathComponent("obwatch-support-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.url, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(at: self.url) }

    /// The names in the folder, sorted.
    func names() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: self.url.path).sorted()
    }
}

@Suite("AtomicFile: whole files, folders made, failures in plain words")
struct AtomicFileTests {
    @Test func storeMakesMissingFoldersAndReplacesTheFile() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let file = scratch.url.appendingPathComponent("a/b/state.json")
        try AtomicFile.store(Data("one".utf8), at: file)
        try AtomicFile.store(Data("two".utf8), at: file)
        #expect(try String(contentsOf: file, encoding: .utf8) == "two")
        // No temporary file is left beside it.
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: file.deletingLastPathComponent().path) == ["state.json"]
        )
    }

    @Test func aFileWhereTheFolderShouldBeIsReported() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let blocker = scratch.url.appendingPathComponent("blocker")
        try Data("x".utf8).write(to: blocker)
        let file = blocker.appendingPathComponent("state.json")
        let error = #expect(throws: AtomicFileError.self) { try AtomicFile.store(Data("x".utf8), at: file) }
        #expect(error?.code == .folderUnusable)
        #expect(error?.message == "cannot create the folder \(blocker.path)")
        #expect(error?.cause == "not a directory")
        #expect(error?.file == file.path)
        #expect(error?.description == "cannot create the folder \(blocker.path): not a directory")
    }

    @Test func makeFoldersAnswersInPlainWords() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let deep = scratch.url.appendingPathComponent("x/y/z").path
        #expect(AtomicFile.makeFolders(deep) == nil)
        #expect(AtomicFile.makeFolders(deep) == nil)
        var info = stat()
        #expect(stat(deep, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR)
        try Data().write(to: scratch.url.appendingPathComponent("file"))
        #expect(AtomicFile.makeFolders(scratch.url.appendingPathComponent("file/sub").path) == "not a directory")
    }

    @Test func systemErrorsReadAsWords() {
        #expect(SystemError.words(ENOENT) == "no such file or directory")
        #expect(SystemError.words(EACCES) == "permission denied")
    }
}
