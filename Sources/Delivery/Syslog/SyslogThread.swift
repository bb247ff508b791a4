import Foundation
import Synchronization

/// A thread of one's own for blocking socket calls, fed jobs in order.
///
/// Dispatch's global queues have about one thread per core on Linux: a collector that makes `poll` wait the whole
/// timeout would hold one of them, and a few such waits would stall every other queue in the process, the other
/// receivers' included. A dedicated thread per sender keeps a slow collector's waits to itself.
final class SyslogThread: Sendable {
    /// What the thread and its callers share.
    private final class Shared: Sendable {
        let jobs = Mutex<(queue: [@Sendable () -> Void], stopped: Bool)>(([], false))
        let signal = DispatchSemaphore(value: 0)
    }

    private let shared = Shared()

    /// Starts the thread; it ends when ``stop()`` is called.
    init(name: String) {
        let shared = self.shared
        let thread = Thread {
            while true {
                shared.signal.wait()
                let next = shared.jobs.withLock { state -> (@Sendable () -> Void)?? in
                    if state.queue.isEmpty { return state.stopped ? .some(nil) : nil }
                    return .some(state.queue.removeFirst())
                }
                switch next {
                case .some(.some(let job)): job()
                case .some(.none): return
                case .none: continue
                }
            }
        }
        thread.name = name
        thread.start()
    }

    /// Runs `body` on the thread after the jobs already queued, and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            self.enqueue { continuation.resume(returning: body()) }
        }
    }

    /// Queues a job without waiting for it.
    func enqueue(_ job: @escaping @Sendable () -> Void) {
        self.shared.jobs.withLock { $0.queue.append(job) }
        self.shared.signal.signal()
    }

    /// Ends the thread once the queued jobs are done.
    func stop() {
        self.shared.jobs.withLock { $0.stopped = true }
        self.shared.signal.signal()
    }
}
