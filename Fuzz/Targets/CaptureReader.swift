// libFuzzer target: the capture reader (`CaptureReader.read`, CONTRACT section 5) on arbitrary bytes: JSON Lines of
// recorded exchanges, as `obwatch replay` reads them from a file someone hands it.
import Foundation
import Tracker

/// One input: a whole capture file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCaptureReader(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: bytes, count: count)
    let reading = CaptureReader.read(data, file: "fuzz.jsonl")
    for diagnostic in reading.diagnostics { _ = "\(diagnostic)" }
    return 0
}
