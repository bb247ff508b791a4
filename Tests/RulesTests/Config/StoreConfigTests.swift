import ConfigLoading
import ConfigModel
import Foundation
import Testing
import YAML

@Suite("Config: store (the state folder, or PostgreSQL)")
struct StoreConfigTests {
    static let head = """
        state_dir: s
        targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]

        """

    @Test("no store: the state folder")
    func absent() throws {
        let folder = try ConfigFolder()
        defer { folder.remove() }
        let (config, lines) = try folder.load(config: Self.head)
        #expect(lines == [])
        #expect(config?.store == .local)
    }

    @Test("a url from the environment: its parts, every default (schema obwatch, tls by host, 4 connections)")
    func fromEnvironment() throws {
        let folder = try ConfigFolder()
        defer { folder.remove() }
        let (config, lines) = try folder.load(
            config: Self.head
                + "store: { postgres: { url: \"postgres://obwatch:${PG_PASSWORD}@db.example:6432/state\" } }\n",
            environment: ["PG_PASSWORD": "s3cret-pw"]
        )
        #expect(lines == [])
        guard case .postgres(let settings) = try #require(config?.store) else {
            Issue.record("expected store: postgres")
            return
        }
        #expect(settings.host == "db.example")
        #expect(settings.port == 6432)
        #expect(settings.user == "obwatch")
        #expect(settings.password?.revealed == "s3cret-pw")
        #expect(settings.database == "state")
        #expect(settings.schema == "obwatch")
        #expect(settings.tls == PostgresSettings.TLS(mode: .verifyFull))
        #expect(settings.poolSize == 4)
        #expect(!settings.redactedURL.contains("s3cret-pw"))
        #expect(settings.summary == "PostgreSQL at db.example:6432, database state, schema obwatch (tls verify-full)")
        #expect(settings.mark.line == 3)
    }

    @Test("a url read from a file; schema, tls with ca_file, pool_size; a loopback host defaults to tls disable")
    func fromFile() throws {
        let folder = try ConfigFolder()
        defer { folder.remove() }
        try folder.write("pg.url", "postgresql://watcher:p%40ss@[::1]/obwatch\n")
        try folder.write("ca.pem", "-----BEGIN CERTIFICATE-----\n")
        let (config, lines) = try folder.load(
            config: Self.head
                + """
                store:
                  postgres:
                    url_file: pg.url
                    schema: obwatch_prod
                    tls: { mode: verify-full, ca_file: ca.pem }
                    pool_size: 8
                """
        )
        #expect(lines == [])
        guard case .postgres(let settings) = try #require(config?.store) else {
            Issue.record("expected store: postgres")
            return
        }
        #expect(settings.host == "::1")
        #expect(settings.port == 5432)
        #expect(settings.endpoint == "[::1]:5432")
        #expect(settings.password?.revealed == "p@ss", "percent-decoded")
        #expect(settings.schema == "obwatch_prod")
        #expect(settings.tls.caFile == folder.url.appendingPathComponent("ca.pem").path)
        #expect(settings.poolSize == 8)

        let (loopback, _) = try folder.load(
            config: Self.head + "store: { postgres: { url: \"postgres://obwatch@127.0.0.1/obwatch\" } }\n"
        )
        guard case .postgres(let plain) = try #require(loopback?.store) else { return }
        #expect(plain.tls.mode == .disable)
        #expect(plain.password == nil)
    }

    @Test("a password written inline in a file others can read: the secret warning, never the password")
    func inlineSecretWarned() throws {
        let folder = try ConfigFolder()
        defer { folder.remove() }
        let (config, lines) = try folder.load(
            config: Self.head
                + "store: { postgres: { url: \"postgres://obwatch:hunter2-secret@db.example/obwatch\" } }\n"
        )
        #expect(config != nil)
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix("obwatch.yaml:3:27: warning: \"url\" holds a secret") == true, "\(lines)")
        #expect(lines.allSatisfy { !$0.contains("hunter2-secret") })
        // Without a password the url is no secret: no warning.
        let (_, plain) = try folder.load(
            config: Self.head + "store: { postgres: { url: \"postgres://obwatch@db.example/obwatch\" } }\n"
        )
        #expect(plain == [])
    }

    @Test(
        "mistakes are errors at file:line:col, with the nearest key or word, and never show the password",
        arguments: [
            (
                "store: { postgress: { url: \"postgres://u:{password}@db/x\" } }",
                "obwatch.yaml:3:10: error: unknown key \"postgress\" (did you mean \"postgres\"?)"
            ),
            (
                "store: { postgres: { url: \"postgres://u:{password}@db/x\", shema: a } }",
                "obwatch.yaml:3:63: error: unknown key \"shema\" (did you mean \"schema\"?)"
            ),
            (
                "store: { postgres: { url: \"mysql://u:{password}@db/x\" } }",
                "obwatch.yaml:3:27: error: invalid PostgreSQL url \"mysql://<redacted>@db/x\": expected "
                    + "postgres://USER:PASSWORD@HOST:PORT/DATABASE"
            ),
            (
                "store: { postgres: { url: \"postgres://u:{password}@db:99999/x\" } }",
                "obwatch.yaml:3:27: error: invalid PostgreSQL url \"postgres://<redacted>@db:99999/x\": the port must "
                    + "be a number from 1 to 65535"
            ),
            (
                "store: { postgres: { url: \"postgres://u:{password}@db/x?sslmode=require\" } }",
                "obwatch.yaml:3:27: error: invalid PostgreSQL url \"postgres://<redacted>@db/x?<redacted>\": "
                    + "parameters after \"?\" are not read; give TLS under \"tls:\" (mode, ca_file) and the schema "
                    + "under \"schema:\""
            ),
            (
                "store: { postgres: { url: \"postgres://db/x\" } }",
                "obwatch.yaml:3:27: error: invalid PostgreSQL url \"postgres://db/x\": the url needs a user: "
                    + "postgres://USER:PASSWORD@HOST:PORT/DATABASE"
            ),
            (
                "store: { postgres: { url: \"postgres://u@db/x\", schema: Obwatch-Prod } }",
                "obwatch.yaml:3:56: error: invalid schema \"Obwatch-Prod\": use lower-case letters, digits and _, "
                    + "starting with a letter or _"
            ),
            (
                "store: { postgres: { url: \"postgres://u@db/x\", tls: { mode: verify_full } } }",
                "obwatch.yaml:3:61: error: expected one of \"disable\", \"require\", \"verify-full\", found "
                    + "\"verify_full\" (did you mean \"verify-full\"?)"
            ),
            (
                "store: { postgres: { schema: a } }",
                "obwatch.yaml:3:20: error: store.postgres needs \"url\" (or \"url_file\")"
            ),
            (
                "store: { postgres: { url: \"postgres://u@db/x\", pool_size: 0 } }",
                "obwatch.yaml:3:59: error: expected an integer from 1 to 100, found 0"
            ),
        ]
    )
    func mistakes(line: String, expected: String) throws {
        let folder = try ConfigFolder()
        defer { folder.remove() }
        // The password goes in here, not in the arguments: Swift Testing prints those, and the secret scan of
        // `make reliability` reads every line a test run prints.
        let written = line.replacing("{password}", with: "hunter2-secret")
        let (config, lines) = try folder.load(config: Self.head + written + "\n", mode: 0o600)
        #expect(config == nil)
        #expect(lines == [expected])
        #expect(lines.allSatisfy { !$0.contains("hunter2-secret") })
    }

    @Test("check names the store without its password, and the folder that keeps the outbox")
    func checkSummary() throws {
        let folder = try ConfigFolder()
        defer { folder.remove() }
        let path = try folder.write(
            "obwatch.yaml",
            Self.head + "store: { postgres: { url: \"postgres://obwatch:${PG_PASSWORD}@db.example/obwatch\" } }\n"
        )
        let report = ConfigCheck.run(contentsOfFile: path, environment: ["PG_PASSWORD": "s3cret-pw"])
        let summary = try #require(report.lines.last)
        #expect(report.isValid)
        #expect(
            summary.contains(
                "state in PostgreSQL at db.example:5432, database obwatch, schema obwatch (tls verify-full); outbox in "
            )
        )
        #expect(!report.lines.joined().contains("s3cret-pw"))
    }
}
