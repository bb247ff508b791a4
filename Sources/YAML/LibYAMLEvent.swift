/// One libyaml event, copied out of C memory into Swift values as soon as it is parsed.
struct LibYAMLEvent {
    /// What the event says.
    enum Kind {
        case streamStart
        case streamEnd
        case documentStart
        case documentEnd
        case alias(anchor: String)
        case scalar(YAMLScalar, tag: String?, anchor: String?)
        case sequenceStart(tag: String?, anchor: String?)
        case sequenceEnd
        case mappingStart(tag: String?, anchor: String?)
        case mappingEnd
    }

    /// What the event says.
    var kind: Kind
    /// Where the event starts.
    var mark: YAMLMark
    /// Whether a sequence or mapping start is written in flow style (`[...]`, `{...}`), where indentation means
    /// nothing.
    var isFlow = false
}
