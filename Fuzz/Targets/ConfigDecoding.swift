// libFuzzer target: configuration decoding (YAML → `ObwatchConfig`, CONTRACT section 3) on arbitrary bytes. The
// loader reads files (includes, permission checks), so each input is written to a file of its own directory first.
import ConfigLoading
import Foundation
import YAML

/// The directory inputs are written to: one per fuzzing process.
private let workDirectory: String = {
    let path = NSTemporaryDirectory() + "obwatch-fuzz-config-\(ProcessInfo.processInfo.processIdentifier)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}()

/// One input: a whole config file, loaded with no environment and secrets optional (as `replay` loads).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigDecoding(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let path = workDirectory + "/obwatch.yaml"
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes: bytes, count: count)) else { return 0 }
    let loader = ConfigLoader(environment: ["TOKEN": "t0ken"], secretsRequired: false, targetsRequired: false)
    let result = loader.load(contentsOfFile: path)
    for diagnostic in result.diagnostics.errors + result.diagnostics.warnings { _ = "\(diagnostic)" }
    return 0
}
