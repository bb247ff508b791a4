/// A strict reader of the Prometheus text exposition format 0.0.4, so tests check what a scraper would accept
/// rather than searching for substrings.
struct PrometheusText {
    /// One sample line.
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    /// A line the format does not allow, with its 1-based number.
    struct Problem: Error, CustomStringConvertible {
        var line: Int
        var message: String
        var description: String { "line \(self.line): \(self.message)" }
    }

    private(set) var types: [String: String] = [:]
    private(set) var help: [String: String] = [:]
    private(set) var samples: [Sample] = []

    /// Parses a whole exposition.
    init(parsing text: String) throws(Problem) {
        guard text.isEmpty || text.hasSuffix("\n") else { throw Problem(line: 0, message: "no final line feed") }
        var sampledFamilies: Set<String> = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                try self.comment(String(line), line: number, sampled: sampledFamilies)
                continue
            }
            let sample = try Self.sample(String(line), line: number)
            let family = self.family(of: sample.name)
            guard self.types[family] != nil else {
                throw Problem(line: number, message: "sample \(sample.name) before any TYPE of \(family)")
            }
            sampledFamilies.insert(family)
            self.samples.append(sample)
        }
        try self.checkHistograms()
    }

    /// The value of the one sample with this name and these labels (all of them).
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        self.samples.first { $0.name == name && $0.labels == labels }?.value
    }

    private func family(of name: String) -> String {
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if self.types[base] == "histogram" || self.types[base] == "summary" { return base }
        }
        return name
    }

    private mutating func comment(_ line: String, line number: Int, sampled: Set<String>) throws(Problem) {
        let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3, parts[0] == "#", parts[1] == "HELP" || parts[1] == "TYPE" else { return }
        let name = parts[2]
        guard Self.isMetricName(name) else { throw Problem(line: number, message: "bad metric name \(name)") }
        guard !sampled.contains(name) else { throw Problem(line: number, message: "\(parts[1]) after samples") }
        if parts[1] == "TYPE" {
            let kind = parts.count == 4 ? parts[3] : ""
            guard ["counter", "gauge", "histogram", "summary", "untyped"].contains(kind) else {
                throw Problem(line: number, message: "unknown type \(kind)")
            }
            guard self.types[name] == nil else { throw Problem(line: number, message: "second TYPE of \(name)") }
            self.types[name] = kind
        } else {
            guard self.help[name] == nil else { throw Problem(line: number, message: "second HELP of \(name)") }
            self.help[name] = parts.count == 4 ? parts[3] : ""
        }
    }

    private static let letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"

    private static func isMetricName(_ name: String) -> Bool {
        Self.isName(name, head: Self.letters + ":")
    }

    private static func isLabelName(_ name: String) -> Bool {
        Self.isName(name, head: Self.letters)
    }

    private static func isName(_ name: String, head: String) -> Bool {
        guard let first = name.first, head.contains(first) else { return false }
        return name.allSatisfy { head.contains($0) || ("0"..."9").contains($0) }
    }

    private static func sample(_ line: String, line number: Int) throws(Problem) -> Sample {
        var rest = Substring(line)
        let name = String(rest.prefix { $0 != "{" && $0 != " " })
        guard isMetricName(name) else { throw Problem(line: number, message: "bad metric name \(name)") }
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                let label = String(rest.prefix { $0 != "=" })
                guard isLabelName(label) else { throw Problem(line: number, message: "bad label name \(label)") }
                rest = rest.dropFirst(label.count)
                guard rest.hasPrefix("=\"") else { throw Problem(line: number, message: "label \(label) not quoted") }
                rest = rest.dropFirst(2)
                var value = ""
                while true {
                    guard let character = rest.first else { throw Problem(line: number, message: "open label value") }
                    rest = rest.dropFirst()
                    if character == "\"" { break }
                    if character == "\\" {
                        switch rest.first {
                        case "\\": value.append("\\")
                        case "\"": value.append("\"")
                        case "n": value.append("\n")
                        default: throw Problem(line: number, message: "bad escape in label \(label)")
                        }
                        rest = rest.dropFirst()
                    } else {
                        value.append(character)
                    }
                }
                guard labels[label] == nil else { throw Problem(line: number, message: "label \(label) twice") }
                labels[label] = value
                if rest.first == "," {
                    rest = rest.dropFirst()
                } else if rest.first != "}" {
                    throw Problem(line: number, message: "expected , or } after label \(label)")
                }
            }
            rest = rest.dropFirst()
        }
        guard rest.first == " " else { throw Problem(line: number, message: "no space before the value") }
        let fields = rest.dropFirst().split(separator: " ", omittingEmptySubsequences: false)
        guard fields.count == 1 || (fields.count == 2 && Int64(fields[1]) != nil) else {
            throw Problem(line: number, message: "expected a value and an optional timestamp")
        }
        let text = String(fields[0])
        let value: Double? =
            switch text {
            case "+Inf": .infinity
            case "-Inf": -.infinity
            case "NaN": .nan
            default: Double(text)
            }
        guard let value else { throw Problem(line: number, message: "bad value \(text)") }
        return Sample(name: name, labels: labels, value: value)
    }

    /// Buckets must be cumulative and end in `+Inf` equal to `_count`.
    private func checkHistograms() throws(Problem) {
        for (family, kind) in self.types where kind == "histogram" {
            var series: [[String: String]: [(Double, Double)]] = [:]
            for sample in self.samples where sample.name == family + "_bucket" {
                var labels = sample.labels
                guard let bound = labels.removeValue(forKey: "le"),
                    let limit = bound == "+Inf" ? Double.infinity : Double(bound)
                else { throw Problem(line: 0, message: "\(family) bucket without a valid le") }
                series[labels, default: []].append((limit, sample.value))
            }
            for (labels, buckets) in series {
                let ordered = buckets.sorted { $0.0 < $1.0 }
                for (lower, upper) in zip(ordered, ordered.dropFirst()) where upper.1 < lower.1 {
                    throw Problem(line: 0, message: "\(family) buckets not cumulative")
                }
                guard let last = ordered.last, last.0 == .infinity,
                    self.value(family + "_count", labels) == last.1,
                    self.value(family + "_sum", labels) != nil
                else { throw Problem(line: 0, message: "\(family) without +Inf, _count or _sum for \(labels)") }
            }
        }
    }
}
