/// The web console at `/`: one HTML page, its style sheet and its script, all served by obwatch itself (no CDN, no
/// external asset), so it works on an isolated network and its content is exactly what this binary ships.
///
/// The page reads the status API (`/api/v1/targets`, `/api/v1/dags`, `/api/v1/events`, `/api/v2/silences`) every
/// two seconds and writes through it (`POST /api/v2/silences`, `DELETE /api/v2/silence/ID`, `POST /api/v2/acks`)
/// with the token the user types, kept in the tab's `sessionStorage`. Every text that comes from an agent or a user
/// (DAG and node names, logs, comments) is set with `textContent`, never parsed as markup, and the answers carry a
/// Content-Security-Policy that allows only obwatch's own script and style: an injected `<script>` cannot run.
enum ConsoleAssets {
    /// The paths the console is served at; they hold no data, so they need no token (a browser's navigation
    /// cannot send `Authorization`), and the data the script reads stays behind the read token.
    static let paths: Set<String> = ["/", "/index.html", "/console.js", "/console.css"]

    /// Only obwatch's own script, style and API; no inline script or style element, no frames, no plugins.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    /// The answer for one of ``paths``; `nil` for any other path.
    /// - Parameter path: The request's path.
    static func answer(path: String) -> StatusAnswer? {
        let (contentType, body): (String, String)
        switch path {
        case "/", "/index.html": (contentType, body) = ("text/html; charset=utf-8", ConsolePage.html)
        case "/console.js": (contentType, body) = ("text/javascript; charset=utf-8", ConsoleScript.source)
        case "/console.css": (contentType, body) = ("text/css; charset=utf-8", ConsoleStyle.source)
        default: return nil
        }
        return StatusAnswer(
            status: 200,
            contentType: contentType,
            body: body,
            headers: [
                ("Content-Security-Policy", Self.contentSecurityPolicy),
                ("X-Frame-Options", "DENY"),
                ("Referrer-Policy", "no-referrer"),
            ]
        )
    }
}
