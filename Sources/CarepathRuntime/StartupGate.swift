import Synchronization

/// A value produced once and awaited by any number of tasks, each of which
/// can stop waiting when it is cancelled (the value is still produced for the
/// others).
final class AsyncPromise<Value: Sendable>: Sendable {
    private struct State: ~Copyable {
        var result: Result<Value, any Error>?
        var waiters: [Int: CheckedContinuation<Value, any Error>] = [:]
        var nextWaiter = 0
    }

    private let state = Mutex(State())

    /// The value once there is one; `nil` before (or after a failure).
    var valueIfProduced: Value? {
        state.withLock { s in
            guard case .success(let value)? = s.result else { return nil }
            return value
        }
    }

    /// Whether the value (or its failure) is there.
    var isCompleted: Bool { state.withLock { $0.result != nil } }

    /// Sets the outcome, once; later calls are ignored.
    func complete(_ result: Result<Value, any Error>) {
        let waiters = state.withLock { s -> [CheckedContinuation<Value, any Error>] in
            guard s.result == nil else { return [] }
            s.result = result
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for waiter in waiters { waiter.resume(with: result) }
    }

    /// Waits for the outcome.
    /// - Throws: the failure it was completed with, or `CancellationError`
    ///   when the waiting task is cancelled first.
    func value() async throws -> Value {
        let id = state.withLock { s in
            s.nextWaiter += 1
            return s.nextWaiter
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
                let now = state.withLock { s -> Result<Value, any Error>? in
                    if let result = s.result { return result }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    s.waiters[id] = continuation
                    return nil
                }
                if let now { continuation.resume(with: now) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(throwing: CancellationError())
        }
    }
}

/// What the runtime's services wait for before they start: work run once, by
/// the first task that asks, whose outcome every task that asks receives. A
/// task cancelled while waiting stops waiting; the work goes on for the others
/// until ``finish(cancellingWork:)``.
///
/// carepath's: the endpoints listen, the producer reaches a broker and knows
/// its topics, and the consumer is subscribed (see ``CarepathApplication``).
final class StartupGate<Value: Sendable>: Sendable {
    private let work: @Sendable () async throws -> Value
    private let outcome = AsyncPromise<Value>()
    private let running = Mutex<Task<Void, Never>?>(nil)
    private let finished = Mutex(false)

    /// - Parameter work: produces the value; run at most once.
    init(_ work: @escaping @Sendable () async throws -> Value) {
        self.work = work
    }

    /// Starts the work (once), then waits for its outcome.
    /// - Throws: the work's error, or `CancellationError` when this task is cancelled.
    func value() async throws -> Value {
        start()
        return try await outcome.value()
    }

    private func start() {
        running.withLock { task in
            guard task == nil, !finished.withLock({ $0 }) else { return }
            task = Task { [work, outcome] in
                do {
                    outcome.complete(.success(try await work()))
                } catch {
                    outcome.complete(.failure(error))
                }
            }
        }
    }

    /// Ends the gate: the work is cancelled if asked and still running, and
    /// waited for; a gate never started never starts.
    /// - Parameter cancellingWork: whether to cancel work still running.
    /// - Returns: the value, if the work produced one (so that what it
    ///   opened can be closed), and the work's error, if it failed.
    func finish(cancellingWork: Bool) async -> Result<Value, any Error>? {
        finished.withLock { $0 = true }
        let task = running.withLock { $0 }
        if cancellingWork { task?.cancel() }
        await task?.value
        guard task != nil else {
            outcome.complete(.failure(CancellationError()))
            return nil
        }
        // Completed by the task before it ended.
        if let value = outcome.valueIfProduced { return .success(value) }
        do {
            return .success(try await outcome.value())
        } catch {
            return .failure(error)
        }
    }
}
