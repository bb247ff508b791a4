import Cryptography
import Foundation
import ObshellModel
import Support

/// Owns the scenario state, the scenario clock, the RSA key and the held (hung) requests. Every change happens
/// here, without `await` between a check and its update; the HTTP layer asks for snapshots.
actor SimulatorEngine {
    private var state: ScenarioState
    private let clockMode: ObshellSimulator.ClockMode
    private var manualElapsed: Duration = .zero
    private let clock: any ObwatchClock
    private var sinceStart: Stopwatch?
    private let keyBits: Int
    private(set) var key: RSAPrivateKey
    private var keyGeneration = 0
    private var hangs: [Int: CheckedContinuation<Void, Never>] = [:]
    private var releasedHangs: Set<Int> = []
    private var nextHangID = 0
    private var stopped = false
    private var listening = ObshellSimulator.Addresses()
    private var expectedListeners: (tcp: Bool, unix: Bool)
    private var listenWaiters: [CheckedContinuation<ObshellSimulator.Addresses, any Error>] = []
    private var listenFailure: SimulatorError?
    /// The wall-clock start, reported by `/info` and `/status` as obshell's `startAt`.
    let startedAt: Date

    init(
        scenario: Scenario,
        clockMode: ObshellSimulator.ClockMode,
        keyBits: Int,
        expectTCP: Bool,
        expectUnix: Bool,
        clock: any ObwatchClock
    ) throws(SimulatorError) {
        self.state = ScenarioState(scenario: scenario)
        self.clockMode = clockMode
        self.clock = clock
        self.startedAt = clock.wallNow
        self.keyBits = keyBits
        self.key = try Self.makeKey(bits: keyBits)
        self.expectedListeners = (expectTCP, expectUnix)
    }

    static func makeKey(bits: Int) throws(SimulatorError) -> RSAPrivateKey {
        guard bits == 512 || bits == 1024 else {
            throw SimulatorError(
                code: .keyGenerationFailed,
                message: "the key size must be 512 or 1024 bits, not \(bits)"
            )
        }
        do {
            return try RSAPrivateKey.generate(bits: bits)
        } catch {
            throw SimulatorError(code: .keyGenerationFailed, message: "cannot generate an RSA key", cause: error)
        }
    }

    // MARK: - Clock

    /// Starts the real-time clock (once).
    func markStarted() {
        if self.sinceStart == nil { self.sinceStart = Stopwatch(self.clock) }
    }

    var elapsed: Duration {
        switch self.clockMode {
        case .manual: self.manualElapsed
        case .realTime: self.sinceStart?.elapsed ?? .zero
        }
    }

    func advance(to target: Duration) throws(SimulatorError) -> Duration {
        guard self.clockMode == .manual else {
            throw SimulatorError(code: .notManualClock, message: "the scenario clock runs in real time")
        }
        if target > self.manualElapsed { self.manualElapsed = target }
        self.sync()
        return self.manualElapsed
    }

    func advance(by amount: Duration) throws(SimulatorError) -> Duration {
        try self.advance(to: self.elapsedForAdvance + amount)
    }

    private var elapsedForAdvance: Duration { self.manualElapsed }

    /// Brings the state up to the clock and renews the key after a `key_change` step.
    private func sync() {
        self.state.advance(to: self.elapsed)
        if self.state.keyGeneration != self.keyGeneration {
            self.keyGeneration = self.state.keyGeneration
            // A failure keeps the old key: the scenario goes on rather than the server stopping.
            if let key = try? Self.makeKey(bits: self.keyBits) { self.key = key }
        }
    }

    // MARK: - Snapshots

    func snapshot() -> ScenarioState {
        self.sync()
        return self.state
    }

    func currentKey() -> RSAPrivateKey {
        self.sync()
        return self.key
    }

    /// Takes a fault of one of `kinds` that is active now, counting the request against it.
    /// Requests refused for a wrong password so far (each a failed root@sys login on a real agent).
    private(set) var refusedLogins = 0

    /// Counts a request refused for its password.
    func countRefusedLogin() { self.refusedLogins += 1 }

    func takeFault(of kinds: [SimulatedFault.Kind]) -> SimulatedFault? {
        self.sync()
        return self.state.takeFault(of: kinds)
    }

    /// The DAGs `/dag/unfinish` lists now, with partial-list and `contents: null` faults applied; `nil` means
    /// `contents: null`.
    func unfinishedDags() -> [Dag]? {
        self.sync()
        if self.state.takeFault(of: [.contentsNull]) != nil { return nil }
        var dags = self.state.unfinishedDags
        if let fault = self.state.takeFault(of: [.partialList]) {
            dags.removeAll { fault.hiddenDagIDs.contains($0.id) }
        }
        if dags.isEmpty && self.state.scenario.agent.identity == .clusterAgent { return nil }
        return dags
    }

    /// What `dags/ob` (`cluster`) or `dags/agent` lists: every DAG that has appeared, finished ones included;
    /// cluster DAGs have ids starting with 1, local ones the others. `nil` for `dags/ob` on an agent that is not a
    /// cluster agent (obshell answers 500).
    func allDags(cluster: Bool) -> [Dag]? {
        self.sync()
        if cluster && self.state.scenario.agent.identity != .clusterAgent { return nil }
        return self.state.dags.filter { self.state.hasAppeared($0.id) && $0.id.hasPrefix("1") == cluster }
    }

    func dag(id: String) -> Dag? {
        self.sync()
        return self.state.dag(id: id)
    }

    // MARK: - Hung requests

    func newHangID() -> Int {
        self.nextHangID += 1
        return self.nextHangID
    }

    /// Waits until the hang is released: by ``releaseHang(_:)``, cancellation, or ``stop()``.
    func waitHang(_ id: Int) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                if self.stopped || self.releasedHangs.remove(id) != nil {
                    continuation.resume()
                } else {
                    self.hangs[id] = continuation
                }
            }
        } onCancel: {
            Task { await self.releaseHang(id) }
        }
    }

    func releaseHang(_ id: Int) {
        if let continuation = self.hangs.removeValue(forKey: id) {
            continuation.resume()
        } else if !self.stopped {
            self.releasedHangs.insert(id)
        }
    }

    /// Releases every held request and refuses to hold new ones: the server can then shut down.
    func stop() {
        self.stopped = true
        for continuation in self.hangs.values { continuation.resume() }
        self.hangs.removeAll()
        self.releasedHangs.removeAll()
    }

    // MARK: - Listening

    func didListen(tcpHost: String, tcpPort: Int) {
        self.listening.host = tcpHost
        self.listening.port = tcpPort
        self.resumeListenWaitersIfReady()
    }

    func didListen(unixSocketPath: String) {
        self.listening.unixSocketPath = unixSocketPath
        self.resumeListenWaitersIfReady()
    }

    func didFail(_ error: SimulatorError) {
        if self.listenFailure == nil { self.listenFailure = error }
        let waiters = self.listenWaiters
        self.listenWaiters.removeAll()
        for waiter in waiters { waiter.resume(throwing: error) }
    }

    private var isListening: Bool {
        (!self.expectedListeners.tcp || self.listening.port != nil)
            && (!self.expectedListeners.unix || self.listening.unixSocketPath != nil)
    }

    private func resumeListenWaitersIfReady() {
        guard self.isListening else { return }
        let waiters = self.listenWaiters
        self.listenWaiters.removeAll()
        for waiter in waiters { waiter.resume(returning: self.listening) }
    }

    func addresses() async throws -> ObshellSimulator.Addresses {
        if let failure = self.listenFailure { throw failure }
        if self.isListening { return self.listening }
        return try await withCheckedThrowingContinuation { continuation in
            self.listenWaiters.append(continuation)
        }
    }
}
