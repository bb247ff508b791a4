import YAML

/// The file name every test parses under, so expected lines read `t.yaml:LINE:COL: ...`.
let testFile = "t.yaml"

/// Parses `text` as `t.yaml` with the given options.
func parse(_ text: String, options: YAMLParser.Options = YAMLParser.Options()) throws(YAMLError) -> YAMLNode? {
    try YAMLParser(options: options).parse(text, file: testFile)
}

/// Parses `text`, which must hold a document.
func root(_ text: String) throws -> YAMLNode {
    let node = try parse(text)
    guard let node else { throw TestFailure(message: "no document in \(text)") }
    return node
}

/// The whole formatted error line of a parse, or `nil` when it succeeds.
func parseFailure(_ text: String, options: YAMLParser.Options = YAMLParser.Options()) -> String? {
    do {
        _ = try parse(text, options: options)
        return nil
    } catch {
        return error.description
    }
}

/// The whole formatted error line of a decoding step, or `nil` when it succeeds.
func failure<T>(_ body: () throws -> T) -> String? {
    do {
        _ = try body()
        return nil
    } catch {
        return String(describing: error)
    }
}

/// A test precondition that did not hold.
struct TestFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { self.message }
}
