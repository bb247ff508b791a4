import ConfigLoading
import ConfigModel
import Foundation
import YAML

/// A folder of config files written by a test, and the loader's answer for them with the folder's path shown as `F`.
struct ConfigFolder {
    let url: URL

    init() throws {
        self.url = FileManager.default.temporaryDirectory.appendingPathComponent("obwatch-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.url, withIntermediateDirectories: true)
    }

    /// Deletes the folder and everything in it.
    func remove() {
        try? FileManager.default.removeItem(at: self.url)
    }

    /// Writes `text` to `name` in the folder and returns its path.
    /// - Parameter mode: The file's permission bits, when they matter (others may read it by default).
    @discardableResult
    func write(_ name: String, _ text: String, mode: Int = 0o644) throws -> String {
        let file = self.url.appendingPathComponent(name)
        try FileManager.default.createDirectory(
            at: file.deletingLastPathComponent(),
            withIntermediateDirectories: true
        )
        try Data(text.utf8).write(to: file)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file.path)
        return file.path
    }

    /// Loads `name` and returns the result with every diagnostic line, the folder shown as `F`.
    func load(_ name: String = "obwatch.yaml", environment: [String: String] = [:]) -> (ObwatchConfig?, [String]) {
        let result = ConfigLoader(environment: environment).load(
            contentsOfFile: self.url.appendingPathComponent(name).path
        )
        let lines = result.diagnostics.entries.map {
            $0.description.replacingOccurrences(of: self.url.path + "/", with: "")
        }
        return (result.config, lines)
    }

    /// Writes `text` as `obwatch.yaml` (with permission bits `mode`) and loads it.
    func load(
        config text: String,
        environment: [String: String] = [:],
        mode: Int = 0o644
    ) throws -> (ObwatchConfig?, [String]) {
        try self.write("obwatch.yaml", text, mode: mode)
        return self.load(environment: environment)
    }
}
