/// The console's HTML: the page's skeleton; ``ConsoleScript`` fills it.
enum ConsolePage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>obwatch</title>
        <link rel="stylesheet" href="/console.css">
        <script src="/console.js" defer></script>
        </head>
        <body>
        <header>
          <h1>obwatch</h1>
          <span id="status" role="status">loading…</span>
          <details id="tokens">
            <summary>Tokens</summary>
            <p class="hint">Kept in this tab only (sessionStorage). Writes need the write token
              (<code>http.write_token_file</code>); reads need the read token only when
              <code>http.bearer_token_file</code> is set.</p>
            <label>Write token <input id="write-token" type="password" autocomplete="off"></label>
            <label>Read token <input id="read-token" type="password" autocomplete="off"></label>
            <label>Your name <input id="author" type="text" autocomplete="name"></label>
          </details>
        </header>
        <main>
          <section id="targets-section">
            <h2>Targets</h2>
            <div id="targets" class="cards"></div>
          </section>
          <section id="incidents-section">
            <h2>Open incidents</h2>
            <p class="hint">The incidents a rule sent to someone, until they resolve. Acknowledging one stops its reminders.</p>
            <ul id="incidents" class="rows"></ul>
            <p id="ack-result" class="result" role="status"></p>
          </section>
          <section id="silences-section">
            <h2>Silences</h2>
            <ul id="silences" class="rows"></ul>
            <form id="silence-form">
              <h3>New silence</h3>
              <div class="fields">
                <label>Target <input id="silence-target" type="text" placeholder="prod-east or prod-*"></label>
                <label>DAG name <input id="silence-dag" type="text" placeholder="*upgrade*"></label>
                <label>Event type <input id="silence-event" type="text" placeholder="failed"></label>
                <label>Label <input id="silence-label" type="text" placeholder="env=prod"></label>
                <label>For <input id="silence-for" type="text" value="2h" placeholder="2h, 30m, 1d"></label>
                <label>Comment <input id="silence-comment" type="text" placeholder="upgrading"></label>
              </div>
              <button id="silence-create" type="submit">Silence</button>
              <p id="silence-result" class="result" role="status"></p>
            </form>
          </section>
          <section id="events-section">
            <h2>Recent events</h2>
            <ol id="events" class="rows"></ol>
          </section>
        </main>
        </body>
        </html>

        """#
}
