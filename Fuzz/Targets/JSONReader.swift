// libFuzzer target: obwatch's hand-written JSON reader (`JSONTree`), its `Decoder`, and how an agent's answer is
// read (`AgentAnswer`), on arbitrary bytes. Built by Fuzz/run.sh with `-sanitize=fuzzer,address`.
import Foundation
import ObshellModel

/// One input: parsed, decoded as a list answer, a DAG answer and a bare `JSONValue`, fingerprinted and interpreted.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONReader(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: bytes, count: count)
    let parsed = FastJSONDecoder.parse(data)
    if case .success(let tree) = parsed {
        _ = AnswerFingerprint(member: "data", of: tree)
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
