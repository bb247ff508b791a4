package import ArgumentParser

/// The `obwatch` command line: watches OceanBase clusters' task DAGs through obshell and delivers events.
package struct ObwatchCommand: AsyncParsableCommand {
    /// The command's name, version and subcommands.
    package static let configuration = CommandConfiguration(
        commandName: "obwatch",
        abstract: "Watch OceanBase clusters' task DAGs through obshell and deliver events.",
        discussion: """
            obwatch polls every cluster's obshell agent, keeps a state machine for every task DAG, and turns \
            what changes (started, stage advanced, node failed, stalled, failed, succeeded, ...) into events.
            """,
        version: ObwatchVersion.current,
        subcommands: [
            RunCommand.self, CheckCommand.self, TestReceiverCommand.self, TasksCommand.self, ReplayCommand.self,
            SimulateCommand.self, WatchCommand.self, DemoCommand.self, TestHeartbeatCommand.self, MigrateCommand.self,
            HistoryCommand.self, SilenceCommand.self, AckCommand.self,
        ]
    )

    /// Creates the command; argument parsing fills it in.
    package init() {}
}
