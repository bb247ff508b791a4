import Dispatch

/// Dispatch's global pool as a task executor of its own, for work that may block (a disk, a database) and is
/// reached from a task that prefers another executor, such as the curl engine's thread.
///
/// `withTaskExecutorPreference(globalConcurrentExecutor)` does not leave such a thread: the runtime treats the global
/// executor as "no preference" and goes on where the task already runs. A preference for this executor is a real
/// one, so the runtime hops: the work runs on a pool thread and the task returns to its own executor after it.
package final class PoolExecutor: TaskExecutor, Sendable {
    /// The one instance: it holds no state.
    package static let shared = PoolExecutor()

    private init() {}

    /// Runs the job on one of Dispatch's global pool threads.
    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        DispatchQueue.global().async {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
