import ConfigModel
import YAML

// The loading boundary: the model keeps `SourcePosition`s, the parser and the diagnostics speak `YAMLMark`.

extension SourcePosition {
    /// The position a YAML parser's mark points at.
    /// - Parameter mark: The mark.
    init(_ mark: YAMLMark) {
        self.init(file: mark.file, line: mark.line, column: mark.column)
    }
}

extension YAMLMark {
    /// The mark of a model position, for a diagnostic about it.
    /// - Parameter position: The position.
    init(_ position: SourcePosition) {
        self.init(file: position.file, line: position.line, column: position.column)
    }
}
