import ObwatchApp

// The thin executable: argument parsing and everything else live in ObwatchApp.
await ObwatchMain.run()
