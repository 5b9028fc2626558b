/// When the consumer stops reading because the outbox is behind, and when it
/// reads again: pure, with the figures passed in and what to do handed back.
///
/// Above the high watermark the assigned partitions are paused; they are
/// resumed only once the backlog is below the low watermark (hysteresis, so
/// that consumption does not flap around one figure). Nothing is paused while
/// the consumer holds no partition; partitions assigned while paused are
/// paused as well (librdkafka assigns them unpaused).
///
/// ```swift
/// var backpressure = BackpressureStateMachine(highWatermark: 100_000, lowWatermark: 20_000)
/// switch backpressure.outboxBacklogChanged(status.current.outboxBacklog) {
/// case .pause: try await consumer.pause(Array(consumer.assignment))
/// case .resume: try await consumer.resume(Array(consumer.assignment))
/// case .none: break
/// }
/// ```
public struct BackpressureStateMachine: Sendable, Hashable {
    /// What the consumer does now.
    public enum Action: Sendable, Hashable {
        /// Pause every assigned partition.
        case pause
        /// Resume every assigned partition.
        case resume
        /// Nothing changes.
        case none
    }

    private enum State: Sendable, Hashable {
        case consuming
        case paused
    }

    /// Above this many unpublished outbox rows, consumption pauses.
    public let highWatermark: Int
    /// Below this many, paused consumption resumes.
    public let lowWatermark: Int
    private var state = State.consuming
    private var backlog = 0
    private var partitions: Set<Int32> = []

    /// - Parameters:
    ///   - highWatermark: pause above this backlog (`CAREPATH_OUTBOX_HIGH_WATERMARK`).
    ///   - lowWatermark: resume below this backlog (`CAREPATH_OUTBOX_LOW_WATERMARK`);
    ///     must be below `highWatermark` (the configuration checks it).
    public init(highWatermark: Int, lowWatermark: Int) {
        precondition(lowWatermark < highWatermark, "the low watermark must be below the high one")
        self.highWatermark = highWatermark
        self.lowWatermark = lowWatermark
    }

    /// Whether consumption is paused now.
    public var isPaused: Bool { state == .paused }

    /// The outbox backlog the relay last reported.
    /// - Parameter backlog: unpublished outbox rows.
    /// - Returns: ``Action/pause`` when it rises above the high watermark with
    ///   partitions assigned, ``Action/resume`` when it falls below the low
    ///   watermark while paused, else ``Action/none``.
    public mutating func outboxBacklogChanged(_ backlog: Int) -> Action {
        self.backlog = backlog
        return evaluate()
    }

    /// The consumer's assignment after a poll (rebalances happen inside polls).
    /// - Parameter partitions: the input partitions held now.
    /// - Returns: ``Action/pause`` when partitions were added while paused (they
    ///   arrive unpaused), or when the first partitions arrive with the backlog
    ///   already above the high watermark; else ``Action/none``.
    public mutating func assignmentChanged(_ partitions: Set<Int32>) -> Action {
        let added = !partitions.isSubset(of: self.partitions)
        self.partitions = partitions
        if state == .paused {
            return added ? .pause : .none
        }
        return evaluate()
    }

    private mutating func evaluate() -> Action {
        switch state {
        case .consuming where backlog > highWatermark && !partitions.isEmpty:
            state = .paused
            return .pause
        case .paused where backlog < lowWatermark:
            state = .consuming
            return .resume
        case .consuming, .paused:
            return .none
        }
    }
}
