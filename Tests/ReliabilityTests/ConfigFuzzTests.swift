import ConfigLoading
import Foundation
import Testing
import YAML

/// Mutations of the bundled rule files, at the byte level and at the level of YAML's structure.
enum BundledConfigs {
    static let rulesFolder = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("rules")

    /// Every `rules/*.yaml` and `rules/examples/*.yaml`, by name.
    static func all() throws -> [(name: String, text: String)] {
        var result: [(name: String, text: String)] = []
        for folder in [Self.rulesFolder, Self.rulesFolder.appendingPathComponent("examples")] {
            let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter {
                $0.hasSuffix(".yaml")
            }
            for name in names.sorted() {
                let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
                result.append((name, text))
            }
        }
        return result
    }

    static let oddValues = [
        "", "~", "null", "[]", "{}", "[a, b", "{ a: 1", "\"unclosed", "'unclosed", "-1", "0", "99999999999999999999h",
        "1e400", "5x", "-5s", "yes", "!!binary aGVsbG8=", "!!int x", "!custom 1", "&anchor 1", "*anchor", "*missing",
        "|", ">-", "\"\\u0000\"", "\"\\x\"", "\"${UNSET}\"", "${", "\"{{dag.name\"", "\"{{#x}}\"", "\"{{> p}}\"",
        "unix://", "http://", "smtp://:0", "udp://[::1", "local99", "rfc9999", "\"Mars/Olympus\"", "\"25:61\"",
        "\"2026-02-30T00:00:00Z\"", "@all", "\"<!channel>\"", "%TAG", "? complex", ": x", "- - -", "\u{FEFF}bom",
        "\u{202E}evil", String(repeating: "x", count: 20_000), "\"\t\"",
    ]

    static let structureEdits = [
        "<<: *missing", "<<: [*a, *b]", "a: &a { b: *a }", "--- ", "...", "%YAML 1.1", "? [a, b]\n: c",
        "key: value\nkey: again", "- orphan item", "\t tab: indented", "{ flow: [ [ [ [ [ [ x ] ] ] ] ] ] }",
        String(repeating: "[", count: 3_000) + String(repeating: "]", count: 3_000),
        String(repeating: "- ", count: 400) + "deep",
        (0..<10).map { level in
            "lol\(level): &l\(level) ["
                + Array(repeating: level == 0 ? "lol" : "*l\(level - 1)", count: 9)
                .joined(separator: ", ") + "]"
        }.joined(separator: "\n"),
    ]

    /// One mutation of a document: line-level YAML edits or byte-level ones.
    static func mutate(_ text: String, _ random: inout SplitMix64) -> (data: Data, description: String) {
        if random.chance(1, in: 3) {
            let mutation = Mutator.bytes(Data(text.utf8), &random)
            return (mutation.data, mutation.description)
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var notes: [String] = []
        for _ in 0..<(1 + random.below(4)) {
            guard !lines.isEmpty else { break }
            let at = random.below(lines.count)
            let indentation = String(lines[at].prefix { $0 == " " })
            switch random.below(10) {
            case 0:
                lines.remove(at: at)
                notes.append("delete line \(at + 1)")
            case 1:
                lines.insert(lines[at], at: at)
                notes.append("duplicate line \(at + 1)")
            case 2:
                let other = random.below(lines.count)
                lines.swapAt(at, other)
                notes.append("swap lines \(at + 1) and \(other + 1)")
            case 3:
                lines[at] = String(repeating: " ", count: 1 + random.below(4)) + lines[at]
                notes.append("indent line \(at + 1)")
            case 4:
                lines[at] = String(lines[at].drop { $0 == " " })
                notes.append("dedent line \(at + 1)")
            case 5, 6:
                if let colon = lines[at].firstIndex(of: ":") {
                    lines[at] = String(lines[at][...colon]) + " " + random.pick(Self.oddValues)
                } else {
                    lines[at] = indentation + random.pick(Self.oddValues)
                }
                notes.append("odd value on line \(at + 1)")
            case 7:
                lines.insert(
                    contentsOf: random.pick(Self.structureEdits).split(separator: "\n").map { indentation + $0 },
                    at: at
                )
                notes.append("structure edit at line \(at + 1)")
            case 8:
                lines[at] = lines[at].replacingOccurrences(of: " ", with: "\t")
                notes.append("tabs on line \(at + 1)")
            default:
                lines = Array(lines.prefix(at))
                notes.append("cut after line \(at)")
            }
        }
        let separator = random.chance(1, in: 8) ? "\r\n" : "\n"
        return (Data(lines.joined(separator: separator).utf8), "yaml: " + notes.joined(separator: "; "))
    }

    /// Why a `check` line is not `FILE:LINE:COL: error|warning: MESSAGE` (or `FILE: SEVERITY: MESSAGE` for a file
    /// as a whole) about a file in `folder`, or the summary; `nil` when it is.
    static func problem(_ line: String, isLast: Bool, report: ConfigCheckReport, folder: String) -> String? {
        if line.contains(where: { $0 == "\n" || $0 == "\r" }) { return "a line break inside the line" }
        if isLast {
            return line.hasPrefix(report.isValid ? "valid: " : "invalid: ") ? nil : "not the summary"
        }
        guard line.hasPrefix(folder + "/") else { return "not about a file in the folder" }
        let rest = line.dropFirst(folder.count + 1)
        let found = ["error", "warning"].compactMap { severity in rest.range(of: ": \(severity): ") }
        guard let range = found.min(by: { $0.lowerBound < $1.lowerBound }) else { return "no severity" }
        if report.isValid && rest[range].contains("error") { return "an error in a valid report" }
        let place = rest[..<range.lowerBound].split(separator: ":", omittingEmptySubsequences: false)
        guard !rest[range.upperBound...].isEmpty, let file = place.first, !file.isEmpty else { return "an empty part" }
        if place.count == 1 { return nil }
        guard place.count == 3, let row = Int(place[1]), let column = Int(place[2]), row >= 1, column >= 1 else {
            return "a bad position"
        }
        return nil
    }
}

@Suite("Mutated bundled configs: check never crashes or hangs, and speaks in diagnostics", .timeLimit(.minutes(2)))
struct ConfigFuzzTests {
    static let environment: [String: String] = [:]

    @Test("the bundled files pass check as shipped (the baseline)")
    func bundledFilesAreValid() throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let configs = try BundledConfigs.all()
        #expect(configs.count >= 3)
        for config in configs {
            let path = folder + "/" + config.name
            try Data(config.text.utf8).write(to: URL(fileURLWithPath: path))
            let report = ConfigCheck.run(contentsOfFile: path, environment: Self.environment)
            #expect(report.isValid, "\(config.name): \(report.lines)")
        }
    }

    @Test("seeded mutations of every bundled file", arguments: [UInt64(0xC0F1_6001), 0xC0F1_6002, 0xC0F1_6003])
    func mutations(seed: UInt64) throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var random = SplitMix64(seed: seed)
        var invalid = 0
        var total = 0
        for config in try BundledConfigs.all() {
            let path = folder + "/" + config.name
            for number in 0..<150 {
                let mutation = BundledConfigs.mutate(config.text, &random)
                try mutation.data.write(to: URL(fileURLWithPath: path))
                let report = ConfigCheck.run(contentsOfFile: path, environment: Self.environment)
                let lines = report.lines
                total += 1
                if !report.isValid { invalid += 1 }
                #expect(!lines.isEmpty, "seed \(seed) \(config.name) #\(number): no output")
                for (index, line) in lines.enumerated() {
                    if let problem = BundledConfigs.problem(
                        line,
                        isLast: index == lines.count - 1,
                        report: report,
                        folder: folder
                    ) {
                        Issue.record(
                            """
                            seed \(seed) \(config.name) #\(number) (\(mutation.description)): \(problem): \(line.prefix(300))
                            --- document ---
                            \(String(decoding: mutation.data, as: UTF8.self).prefix(4_000))
                            """
                        )
                        return
                    }
                }
            }
        }
        // The mutations reach past the parser: some documents stay valid, most do not.
        #expect(invalid > total / 4 && invalid < total, "seed \(seed): \(invalid) of \(total) invalid")
    }

    static func makeFolder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("obw-config-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
