import ObshellModel

/// DAGs for history tests: nodes one after another from `start`, each taking the given seconds.
enum Build {
    static let base: Int64 = 1_790_000_000

    static func time(_ seconds: Double) -> ObshellTime {
        let whole = seconds.rounded(.down)
        return ObshellTime(
            seconds: Self.base + Int64(whole),
            nanoseconds: Int32(((seconds - whole) * 1e9).rounded())
        )
    }

    /// A DAG whose nodes ran `durations` seconds each from `start`; nodes up to `finished` are SUCCEED/RUN, the
    /// next one RUNNING (started at its turn), the rest PENDING.
    static func dag(
        id: String,
        name: String,
        nodes names: [String],
        durations: [Double],
        start: Double,
        finished: Int? = nil,
        widths: [Int]? = nil,
        nodeOperator: TaskOperator = .run
    ) -> Dag {
        let done = finished ?? names.count
        var clock = start
        var nodes: [DagNode] = []
        for (index, name) in names.enumerated() {
            let width = widths?[index] ?? 1
            let subTasks = (0..<width).map {
                SubTask(id: "\(id)\(index)\($0)", taskID: 1, name: name, state: .succeed, operator: .run)
            }
            if index < done {
                nodes.append(
                    DagNode(
                        id: "\(id)-\(index)",
                        nodeID: Int64(index),
                        name: name,
                        state: .succeed,
                        operator: nodeOperator,
                        startTime: Self.time(clock),
                        endTime: Self.time(clock + durations[index]),
                        subTasks: subTasks
                    )
                )
                clock += durations[index]
            } else if index == done {
                nodes.append(
                    DagNode(
                        id: "\(id)-\(index)",
                        nodeID: Int64(index),
                        name: name,
                        state: .running,
                        operator: .run,
                        startTime: Self.time(clock),
                        endTime: Self.time(clock),
                        subTasks: subTasks
                    )
                )
            } else {
                nodes.append(
                    DagNode(
                        id: "\(id)-\(index)",
                        nodeID: Int64(index),
                        name: name,
                        state: .pending,
                        operator: .run,
                        subTasks: subTasks
                    )
                )
            }
        }
        let allDone = done >= names.count
        return Dag(
            id: id,
            dagID: 1,
            name: name,
            stage: min(done + 1, names.count),
            maxStage: names.count,
            state: allDone ? .succeed : .running,
            operator: .run,
            startTime: Self.time(start),
            endTime: allDone ? Self.time(clock) : Self.time(start),
            nodes: nodes
        )
    }
}
