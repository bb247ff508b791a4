// libFuzzer target: obwatch's hand-written JSON reader (`JSONTree`), its `Decoder`, and how an agent's answer is
// read (`AgentAnswer`), on arbitrary bytes. Built by Fuzz/run.sh with `-sanitize=fuzzer,address`.
import Foundation
import ObshellModel

/// One input: parsed, split at its data, decoded as a list answer, a DAG answer and a bare `JSONValue`, and
/// interpreted.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONReader(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: bytes, count: count)
    let parsed = FastJSONDecoder.parse(data)
    // The unchanged-list shortcut's pass: when it splits a document the reader rejects, its remainder must be
    // rejected too, or the data it cut out must be invalid (the client only reuses data that parsed before).
    if let split = AnswerSplit(member: "data", of: data) {
        let remainder = FastJSONDecoder.parse(split.remainder)
        if case .failure = parsed, case .success = remainder {
            let value = Data(data[split.valueRange])
            if case .success = FastJSONDecoder.parse(value) {
                fatalError("AnswerSplit: a valid remainder and valid data around an invalid document")
            }
        }
    }
    for status in [200, 401, 404, 500] {
        _ = AgentAnswer.list(
            status: status,
            body: AgentAnswer.body(ContentList<Dag>.self, parsed: parsed, status: status)
        )
        _ = AgentAnswer.dag(status: status, body: AgentAnswer.body(Dag.self, parsed: parsed, status: status))
    }
    _ = try? FastJSONDecoder().decode(JSONValue.self, from: data)
    _ = try? FastJSONDecoder().decode([String: [Int64?]].self, from: data)
    _ = try? FastJSONDecoder().decode([Double].self, from: data)
    _ = AgentAnswer.errorMember(parsed)
    return 0
}
