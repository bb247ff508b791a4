/// The console's style sheet: readable on a phone (one column under 40 rem), light or dark as the system is.
enum ConsoleStyle {
    static let source = #"""
        :root { --bg: #fafafa; --fg: #1d1d1f; --card: #fff; --line: #d8d8dc; --muted: #6b6b70;
          --ok: #1a7f37; --bad: #c62828; --warn: #b26a00; --bar: #2f6fde; }
        @media (prefers-color-scheme: dark) {
          :root { --bg: #141416; --fg: #e8e8ea; --card: #1e1e22; --line: #34343a; --muted: #9a9aa2;
            --ok: #4cc26b; --bad: #ff6b6b; --warn: #f0a640; --bar: #5b8ff0; }
        }
        * { box-sizing: border-box; }
        body { margin: 0; background: var(--bg); color: var(--fg);
          font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
        header { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1rem; padding: .6rem 1rem;
          border-bottom: 1px solid var(--line); background: var(--card); }
        header h1 { font-size: 1.2rem; margin: 0; }
        #status { color: var(--muted); font-size: .9rem; }
        #status.error { color: var(--bad); }
        details#tokens { margin-left: auto; }
        details#tokens[open] { flex-basis: 100%; }
        details#tokens label { display: inline-flex; flex-direction: column; margin: .2rem .6rem .2rem 0; }
        main { padding: .5rem 1rem 2rem; max-width: 90rem; margin: 0 auto; }
        h2 { font-size: 1.05rem; margin: 1.2rem 0 .5rem; }
        h3 { font-size: 1rem; margin: 0 0 .4rem; }
        .hint { color: var(--muted); font-size: .85rem; margin: .2rem 0 .4rem; }
        .cards { display: grid; gap: .8rem; grid-template-columns: repeat(auto-fill, minmax(min(100%, 26rem), 1fr)); }
        .card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .7rem .8rem; }
        .card-head { display: flex; justify-content: space-between; gap: .5rem; align-items: baseline; }
        .health { font-size: .85rem; }
        .health.ok { color: var(--ok); }
        .health.bad { color: var(--bad); }
        .health.waiting { color: var(--muted); }
        .dag { border-top: 1px solid var(--line); padding: .5rem 0 .3rem; }
        .dag-head { display: flex; justify-content: space-between; gap: .5rem; }
        .dag-name { font-weight: 600; overflow-wrap: anywhere; white-space: pre-wrap; }
        .badge { font-size: .75rem; padding: 0 .4rem; border-radius: 4px; border: 1px solid var(--line);
          white-space: nowrap; align-self: flex-start; }
        .badge.RUNNING, .badge.READY { color: var(--bar); }
        .badge.FAILED { color: var(--bad); }
        .badge.SUCCEED { color: var(--ok); }
        .bar { height: .6rem; background: var(--line); border-radius: 4px; overflow: hidden; margin: .35rem 0; }
        .fill { height: 100%; width: 0; background: var(--bar); }
        .fill.FAILED { background: var(--bad); }
        .fill.SUCCEED { background: var(--ok); }
        .meta, .eta { font-size: .85rem; color: var(--muted); overflow-wrap: anywhere; }
        .failure { font-size: .85rem; color: var(--bad); overflow-wrap: anywhere; white-space: pre-wrap;
          font-family: ui-monospace, monospace; }
        .rows { list-style: none; padding: 0; margin: 0; }
        .rows li { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .45rem .6rem;
          margin-bottom: .4rem; display: flex; flex-wrap: wrap; gap: .2rem .8rem; align-items: baseline;
          overflow-wrap: anywhere; }
        .rows .when { color: var(--muted); font-size: .8rem; font-family: ui-monospace, monospace; }
        .rows .type { font-weight: 600; }
        .rows .route { color: var(--muted); font-size: .85rem; }
        .rows .empty { color: var(--muted); border-style: dashed; }
        .fields { display: grid; gap: .5rem; grid-template-columns: repeat(auto-fill, minmax(min(100%, 14rem), 1fr)); }
        form label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); }
        input { font: inherit; padding: .35rem .45rem; border: 1px solid var(--line); border-radius: 5px;
          background: var(--bg); color: var(--fg); min-width: 0; }
        button { font: inherit; padding: .35rem .8rem; border-radius: 5px; border: 1px solid var(--line);
          background: var(--card); color: var(--fg); cursor: pointer; margin-top: .5rem; }
        .rows button { margin: 0 0 0 auto; }
        #silence-form { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .7rem .8rem;
          margin-top: .6rem; }
        .result { font-size: .9rem; min-height: 1.2em; margin: .4rem 0 0; overflow-wrap: anywhere; }
        .result.error { color: var(--bad); }
        code { font-family: ui-monospace, monospace; }
        @media (max-width: 40rem) { main { padding: .3rem .5rem 2rem; } header { padding: .5rem; } }

        """#
}
