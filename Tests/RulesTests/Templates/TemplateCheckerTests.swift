import ConfigModel
import Messages
import Testing

@Suite struct TemplateCheckerTests {
    @Test func plainScalarPointsAtTheOpeningBraces() throws {
        let problems = TemplateChecker.check(TemplateTestSupport.source("{{type}} {{dag.nme}}"))
        let problem = try #require(problems.first)
        #expect(problems.count == 1)
        #expect(problem.message == "unknown variable \"dag.nme\" (did you mean \"dag.name\"?)")
        #expect(problem.mark == SourcePosition(file: "rules.yaml", line: 5, column: 23))
        #expect(problem.description.hasPrefix("rules.yaml:5:23: error: unknown variable"))
    }

    @Test func quotedScalarStartsOneColumnLater() throws {
        let problems = TemplateChecker.check(TemplateTestSupport.source("ok {{sumary}}", quoted: true))
        let problem = try #require(problems.first)
        #expect(problem.mark == SourcePosition(file: "rules.yaml", line: 5, column: 14 + 1 + 3))
        #expect(problem.message == "unknown variable \"sumary\" (did you mean \"summary\"?)")
    }

    @Test func blockScalarCountsLinesFromTheNextLine() throws {
        let text = "line one {{type}}\nline two\n  third {{dag.nme}}\n"
        let problems = TemplateChecker.check(TemplateTestSupport.source(text, line: 10, column: 9, block: true))
        let problem = try #require(problems.first)
        #expect(problems.count == 1)
        // The third line of the block is file line 10 + 3; the tag starts 8 scalars into it.
        #expect(problem.mark == SourcePosition(file: "rules.yaml", line: 13, column: 17))
    }

    @Test func columnsCountUnicodeScalarsAndCRLFIsOneLineBreak() throws {
        let problems = TemplateChecker.check(TemplateTestSupport.source("é🚀 {{nope}}\r\nx {{dag.nme}}", column: 1))
        #expect(problems.count == 2)
        #expect(problems.first?.mark == SourcePosition(file: "rules.yaml", line: 5, column: 4))
        #expect(problems.last?.mark == SourcePosition(file: "rules.yaml", line: 6, column: 3))
    }

    @Test func sectionsOverListsAndObjectsOpenTheirScope() {
        let text = """
            {{#events}}{{headline}} {{dag.name}} {{#sub_tasks}}{{name}} {{last_log}} {{execute_agent.ip}}\
            {{#execute_agent}}{{port}}{{/execute_agent}}{{^last()}}, {{/last()}}{{/sub_tasks}}{{/events}}\
            {{#dag}}{{name}} {{progress}} {{target.name}}{{/dag}}{{#error}}{{.}}{{/error}}\
            {{#target.labels}}{{env}} {{anything_goes}}{{/target.labels}} {{target.labels.region}}\
            {{uppercased(status)}} {{count}} {{receiver}} {{rule}} {{#reversed(events)}}{{id}}{{/reversed(events)}}
            """
        #expect(TemplateChecker.check(TemplateTestSupport.source(text)).isEmpty)
    }

    @Test func unknownNamesInsideListsSuggestTheElementsFields() throws {
        let problems = TemplateChecker.check(
            TemplateTestSupport.source("{{#sub_tasks}}{{last_lg}}{{/sub_tasks}}{{#events}}{{dag.stge}}{{/events}}")
        )
        #expect(
            problems.map(\.message) == [
                "unknown variable \"last_lg\" (did you mean \"last_log\"?)",
                "unknown variable \"dag.stge\" (did you mean \"dag.stage\"?)",
            ]
        )
        #expect(problems.first?.mark.column == 14 + 14)
    }

    @Test func aNameFarFromEverythingHasNoSuggestion() {
        let problems = TemplateChecker.check(TemplateTestSupport.source("{{cluster_region_zone}}"))
        #expect(problems.map(\.message) == ["unknown variable \"cluster_region_zone\""])
    }

    @Test func unclosedSectionPointsAtItsOpeningTag() {
        let problems = TemplateChecker.check(TemplateTestSupport.source("x {{#events}}{{headline}}"))
        #expect(problems.map(\.message) == ["unclosed section \"events\": no {{/events}}"])
        #expect(problems.first?.mark.column == 16)
    }

    @Test func mismatchedCloseTagIsReported() {
        let problems = TemplateChecker.check(TemplateTestSupport.source("{{#events}}{{#dag}}x{{/events}}{{/dag}}"))
        #expect(problems.count == 2)
        #expect(problems.first?.message == "{{/events}} does not match the open section \"dag\" (opened at 5:25)")
        #expect(problems.first?.mark.column == 14 + 20)
        #expect(problems.last?.message == "{{/dag}} closes no open section")
    }

    @Test func unclosedTagIsReported() {
        let problems = TemplateChecker.check(TemplateTestSupport.source("a {{summary"))
        #expect(problems.map(\.message) == ["unclosed tag: \"{{\" has no matching \"}}\""])
        #expect(problems.first?.mark.column == 16)
        let triple = TemplateChecker.check(TemplateTestSupport.source("{{{summary}}"))
        #expect(triple.map(\.message) == ["unclosed tag: \"{{{\" has no matching \"}}}\""])
    }

    @Test func objectsAndListsAreNotVariables() {
        let problems = TemplateChecker.check(TemplateTestSupport.source("{{dag}} {{events}} {{bad name}}"))
        #expect(problems.count == 3)
        #expect(problems[0].message.hasPrefix("\"dag\" is an object: name one of its fields"))
        #expect(problems[1].message == "\"events\" is a list: use {{#events}}...{{/events}} to show its elements")
        #expect(problems[2].message == "\"bad name\" is not a variable name")
    }

    @Test func transformsArePartOfTheCheck() {
        let problems = TemplateChecker.check(TemplateTestSupport.source("{{uppercasd(status)}} {{index()}}"))
        #expect(problems.count == 2)
        #expect(problems[0].message.hasPrefix("unknown transform \"uppercasd\" here (did you mean \"uppercased\"?)"))
        #expect(problems[1].message == "\"index()\" only works inside a list section")
    }

    @Test func escapingCannotBeSwitchedOffAndThereAreNoPartials() {
        let problems = TemplateChecker.check(
            TemplateTestSupport.source("{{%CONTENT_TYPE: TEXT}}{{>footer}}{{! a comment }}{{=<% %>=}}")
        )
        #expect(problems.count == 3)
        #expect(problems[0].message.hasPrefix("pragmas"))
        #expect(problems[1].message.hasPrefix("partials"))
        #expect(problems[2].message.hasPrefix("changing delimiters"))
    }

    @Test(arguments: TemplateDefaults.formatNames)
    func defaultsPassTheChecker(format: String) throws {
        let title = try #require(TemplateDefaults.title(for: format))
        let text = try #require(TemplateDefaults.text(for: format))
        #expect(TemplateChecker.check(TemplateTestSupport.source(title)).isEmpty)
        #expect(TemplateChecker.check(TemplateTestSupport.source(text, block: true)).isEmpty)
    }

    @Test func overridesAreCheckedTitleFirst() {
        let overrides = TemplateOverrides(
            title: TemplateTestSupport.source("{{nme}}", line: 3),
            text: TemplateTestSupport.source("{{#events}}", line: 4)
        )
        let problems = TemplateChecker.check(overrides)
        #expect(problems.map(\.mark.line) == [3, 4])
    }

    @Test func knownPathsListEveryField() {
        let paths = TemplateSchema.knownPaths
        for path in [
            "dag.max_stage", "sub_tasks", "target.labels", "previous.operator", "at_local", "stalled_for", "progress",
            "events", "count", "receiver", "rule", "rules", "observed_mid_run", "node.node_id",
        ] {
            #expect(paths.contains(path), "\(path)")
        }
    }
}

@Suite struct TemplateRobustnessTests {
    static let nasty = [
        "", "{{", "}}", "{{{", "{{{}}}", "{{}}", "{{#}}", "{{/}}", "{{^}}", "{{#a}}{{/a", "{{=", "{{=<% %>=}}<%x%>",
        "{{%", "{{% CONTENT_TYPE: HTML}}", "{{!", "{{! }}", "{{()}}", "{{a(}}", "{{)(}}", "{{.}}", "{{..}}", "{{.a.}}",
        "{{dag.}}", "{{.dag}}", "\r", "\r\n{{x", "{{#events}}{{#events}}{{count}}{{/events}}{{/events}}",
        "{{#sub_tasks}}{{#first()}}{{name}}{{/first()}}{{/sub_tasks}}", "{{<p}}{{$b}}x{{/b}}{{/p}}", "{{$b}}x{{/b}}",
        "{{>p}}", "{{>*p}}", "{{#dag}}{{/node}}", "{{/dag}}{{#dag}}", "{{ summary }}", "{{&}}", "{{{ summary }}}",
        "{{# events }}{{ headline }}{{/ events }}", "é\u{301}{{x}}\u{2028}{{y}}", "{{\u{0}}}", "{{{{summary}}}}",
    ]

    @Test(arguments: Self.nasty)
    func checkingAndRenderingNeverCrash(text: String) {
        let source = TemplateTestSupport.source(text)
        let problems = TemplateChecker.check(source)
        for problem in problems {
            #expect(problem.mark.line >= source.mark.line)
            #expect(problem.mark.column >= 1)
        }
        let renderer = try? TemplateRenderer(format: "slack", overrides: TemplateOverrides(title: source, text: source))
        // Whatever passes the checker must compile, and whatever compiles must render a non-empty title.
        #expect((renderer != nil) == problems.isEmpty, "\(text.debugDescription): \(problems)")
        if let renderer {
            let message = renderer.render(receiver: "c", rule: "r", events: TemplateRenderer.sampleEvents())
            #expect(!message.title.isEmpty)
        }
    }
}
