package import Foundation

/// A fresh, empty folder under the temporary directory, named `PREFIX-UUID`; the test removes it.
/// - Throws: When the folder cannot be made.
package func temporaryFolder(_ prefix: String) throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
}
