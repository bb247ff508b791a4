/// How a sleep on the engine's loop ended.
enum EngineSleepEnding: Sendable {
    /// Its deadline came.
    case fired
    /// The task was cancelled.
    case cancelled
    /// The engine stopped before the deadline: the caller waits on its own.
    case engineStopped
}

/// The waits of tasks that sleep on the curl engine's loop (``CurlEngine/sleep(until:)``), owned by
/// ``EngineCore``'s lock: each wait by its id, and their deadlines in a binary min-heap. `Waiter` is what resumes a
/// wait: the sleeping task's continuation (a plain value in tests).
///
/// A cancelled wait leaves its heap entry behind; the entry is skipped when it comes up (it can only make the engine
/// wake once too early).
struct EngineTimers<Waiter> {
    /// One wait, from before it is queued (a cancellation may come first) to its end.
    private enum Slot {
        case registered
        case cancelledEarly
        case waiting(ContinuousClock.Instant, Waiter)
    }

    private var slots: [UInt64: Slot] = [:]
    private var heap: [(deadline: ContinuousClock.Instant, id: UInt64)] = []
    private var nextID: UInt64 = 0

    /// Notes a new wait, before its continuation exists.
    mutating func register() -> UInt64 {
        self.nextID += 1
        self.slots[self.nextID] = .registered
        return self.nextID
    }

    /// Queues a registered wait; `false` when it was cancelled first (it is forgotten then).
    mutating func queue(_ id: UInt64, deadline: ContinuousClock.Instant, _ waiter: Waiter) -> Bool {
        guard case .registered? = self.slots[id] else {
            self.slots[id] = nil
            return false
        }
        self.slots[id] = .waiting(deadline, waiter)
        self.heap.append((deadline, id))
        self.siftUp(self.heap.count - 1)
        return true
    }

    /// Forgets a registered wait that will not be queued (the engine stopped).
    mutating func forget(_ id: UInt64) {
        self.slots[id] = nil
    }

    /// Cancels a wait: its waiter when it was queued, to be resumed outside the lock.
    mutating func cancel(_ id: UInt64) -> Waiter? {
        switch self.slots[id] {
        case .registered?:
            self.slots[id] = .cancelledEarly
            return nil
        case .waiting(_, let waiter)?:
            self.slots[id] = nil
            return waiter
        case .cancelledEarly?, nil:
            return nil
        }
    }

    /// Takes every wait whose deadline is at or before `instant`, earliest first.
    mutating func takeDue(at instant: ContinuousClock.Instant) -> [Waiter] {
        var due: [Waiter] = []
        while let top = self.heap.first, top.deadline <= instant {
            self.popTop()
            if case .waiting(let deadline, let waiter)? = self.slots[top.id], deadline == top.deadline {
                self.slots[top.id] = nil
                due.append(waiter)
            }
        }
        return due
    }

    /// Takes every queued wait (the engine is stopping).
    mutating func takeAll() -> [Waiter] {
        var all: [Waiter] = []
        for (id, slot) in self.slots {
            if case .waiting(_, let waiter) = slot {
                all.append(waiter)
                self.slots[id] = nil
            }
        }
        self.heap.removeAll()
        return all
    }

    /// The earliest deadline queued, if any (possibly of a wait cancelled since).
    var earliestDeadline: ContinuousClock.Instant? { self.heap.first?.deadline }

    /// How many waits are queued.
    var count: Int {
        self.slots.values.reduce(0) { count, slot in
            if case .waiting = slot { return count + 1 }
            return count
        }
    }

    private mutating func popTop() {
        let last = self.heap.removeLast()
        guard !self.heap.isEmpty else { return }
        self.heap[0] = last
        self.siftDown(0)
    }

    private mutating func siftUp(_ index: Int) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            guard self.heap[child].deadline < self.heap[parent].deadline else { return }
            self.heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var parent = index
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < self.heap.count, self.heap[left].deadline < self.heap[smallest].deadline { smallest = left }
            if right < self.heap.count, self.heap[right].deadline < self.heap[smallest].deadline { smallest = right }
            guard smallest != parent else { return }
            self.heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
