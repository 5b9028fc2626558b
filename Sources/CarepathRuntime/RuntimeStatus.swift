import Synchronization

/// The signals the runtime steers by: whether it is ready (and if not, why),
/// the input partitions it holds, the outbox backlog that backpressure
/// compares with the watermarks, and whether consumption is paused.
///
/// `/health/ready` and the consume loop read these, never the metrics: the
/// metrics only report them (each change is copied into ``RuntimeMetrics``
/// when one is given), so how figures are exported can change without
/// changing what carepath decides.
public final class RuntimeStatus: Sendable {
    /// Whether carepath is ready, and if not, why.
    public enum Readiness: Sendable, Hashable {
        /// Started; the consumer has not been assigned a partition yet.
        case starting
        /// The consumer has been assigned partitions and the store is open.
        /// It stays ready through later rebalances until the service stops.
        case ready
        /// A graceful shutdown has begun: the batch in progress is finished and
        /// the outbox published, but no new input is read.
        case stopping
        /// The service has stopped consuming (drained after a stop, or on an error).
        case stopped

        /// Why carepath is not ready, for `/health/ready`'s body; `nil` when it is.
        public var reason: String? {
            switch self {
            case .starting: "no partitions assigned yet"
            case .ready: nil
            case .stopping: "carepath is shutting down"
            case .stopped: "carepath has stopped consuming"
            }
        }
    }

    /// A copy of every signal.
    public struct State: Sendable, Hashable {
        public var readiness: Readiness
        /// The input topic's partitions the consumer holds now.
        public var assignedPartitions: Set<Int32>
        /// Outbox rows not yet published, as the relay last counted them.
        public var outboxBacklog: Int
        /// Whether consumption is paused because the outbox is behind.
        public var paused: Bool

        public init(readiness: Readiness = .starting, assignedPartitions: Set<Int32> = [], outboxBacklog: Int = 0, paused: Bool = false) {
            self.readiness = readiness
            self.assignedPartitions = assignedPartitions
            self.outboxBacklog = outboxBacklog
            self.paused = paused
        }

        public var isReady: Bool { readiness == .ready }
    }

    private let state = Mutex(State())
    private let metrics: RuntimeMetrics?

    /// - Parameter metrics: where every change is reported (`carepath_ready`,
    ///   `carepath_consumer_paused`, `carepath_outbox_backlog`); `nil` reports nowhere.
    public init(reportingTo metrics: RuntimeMetrics? = nil) {
        self.metrics = metrics
    }

    /// The signals now.
    public var current: State { state.withLock { $0 } }

    /// Changes the signals and reports the result to the metrics.
    /// - Parameter body: the change.
    public func update(_ body: (inout State) -> Void) {
        state.withLock { s in
            body(&s)
            // Under the lock, so that the gauges end on the latest state.
            metrics?.report(s)
        }
    }

    /// Records the consumer's assignment; the first non-empty one makes carepath ready.
    func assigned(_ partitions: Set<Int32>) {
        update { s in
            s.assignedPartitions = partitions
            if !partitions.isEmpty, s.readiness == .starting { s.readiness = .ready }
        }
    }

    /// Records the relay's count of unpublished outbox rows.
    func outboxBacklog(_ backlog: Int) {
        update { $0.outboxBacklog = backlog }
    }
}
