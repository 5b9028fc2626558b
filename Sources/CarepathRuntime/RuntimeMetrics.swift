public import Pathway
import Synchronization

/// The runtime's counters and gauges, rendered in Prometheus' text format for
/// `/metrics`. Safe to update from any task.
public final class RuntimeMetrics: Sendable {
    /// Upper bounds (seconds) of the batch latency histogram's buckets.
    public static let latencyBuckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

    /// A point-in-time copy of every figure.
    public struct Snapshot: Sendable, Hashable {
        public var consumed = 0
        public var applied = 0
        public var unchanged = 0
        public var deadLettered: [DeadLetterReason: Int] = [:]
        public var recommendations = 0
        public var tasks = 0
        public var batches = 0
        /// Cumulative counts per bucket of ``RuntimeMetrics/latencyBuckets``, then +Inf.
        public var batchLatencyBuckets = [Int](repeating: 0, count: RuntimeMetrics.latencyBuckets.count + 1)
        public var batchLatencySum = 0.0
        public var published = 0
        public var publishFailures = 0
        public var outboxBacklog = 0
        public var timersAnnounced = 0
        public var timersPending = 0
        public var timersDue = 0
        /// Messages not yet processed into the store, per input partition.
        public var lag: [Int32: Int64] = [:]
        public var paused = false
        /// Set once the consumer has its partitions and the store is open.
        public var ready = false
    }

    private let state = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    /// Updates the figures.
    public func update(_ body: (inout Snapshot) -> Void) {
        state.withLock { body(&$0) }
    }

    /// Records one committed batch.
    public func recordBatch(_ summary: BatchDecider.Summary, seconds: Double) {
        state.withLock { s in
            s.consumed += summary.consumed
            s.applied += summary.applied
            s.unchanged += summary.unchanged
            s.recommendations += summary.recommendations
            s.tasks += summary.tasks
            for (reason, n) in summary.deadLettered { s.deadLettered[reason, default: 0] += n }
            s.batches += 1
            s.batchLatencySum += seconds
            for (i, bound) in Self.latencyBuckets.enumerated() where seconds <= bound { s.batchLatencyBuckets[i] += 1 }
            s.batchLatencyBuckets[Self.latencyBuckets.count] += 1
        }
    }

    /// The Prometheus text exposition (version 0.0.4).
    public func prometheusText(inputTopic: String) -> String {
        let s = snapshot
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for sample in samples { out += "\(name)\(sample.labels) \(sample.value)\n" }
        }
        metric("carepath_events_consumed_total", "counter", "Input messages read from \(inputTopic).", [("", "\(s.consumed)")])
        metric("carepath_events_processed_total", "counter", "Input events applied to a patient's pathway.", [("", "\(s.applied)")])
        metric("carepath_events_unchanged_total", "counter", "Re-deliveries and stale timer announcements that changed nothing.", [("", "\(s.unchanged)")])
        metric("carepath_events_dead_lettered_total", "counter", "Input messages sent to the dead-letter topic, by reason.",
               DeadLetterReason.allCases.map { ("{reason=\"\($0.rawValue)\"}", "\(s.deadLettered[$0] ?? 0)") })
        metric("carepath_recommendations_total", "counter", "Recommendation revisions decided.", [("", "\(s.recommendations)")])
        metric("carepath_tasks_total", "counter", "Task versions decided.", [("", "\(s.tasks)")])
        metric("carepath_consumer_lag", "gauge", "Messages of \(inputTopic) not yet processed into the store, per partition.",
               s.lag.sorted { $0.key < $1.key }.map { ("{topic=\"\(inputTopic)\",partition=\"\($0.key)\"}", "\($0.value)") })
        var buckets: [(String, String)] = Self.latencyBuckets.enumerated().map { i, bound in
            ("_bucket{le=\"\(bound)\"}", "\(s.batchLatencyBuckets[i])")
        }
        buckets.append(("_bucket{le=\"+Inf\"}", "\(s.batchLatencyBuckets.last!)"))
        out += "# HELP carepath_batch_duration_seconds Time to decide and commit one batch.\n# TYPE carepath_batch_duration_seconds histogram\n"
        for (suffix, value) in buckets { out += "carepath_batch_duration_seconds\(suffix) \(value)\n" }
        out += "carepath_batch_duration_seconds_sum \(s.batchLatencySum)\ncarepath_batch_duration_seconds_count \(s.batches)\n"
        metric("carepath_outbox_backlog", "gauge", "Outbox messages not yet published.", [("", "\(s.outboxBacklog)")])
        metric("carepath_published_total", "counter", "Outbox messages whose delivery Kafka confirmed.", [("", "\(s.published)")])
        metric("carepath_publish_failures_total", "counter", "Deliveries that failed and wait for a retry.", [("", "\(s.publishFailures)")])
        metric("carepath_timers_pending", "gauge", "Timers scheduled and not yet fired or cancelled.", [("", "\(s.timersPending)")])
        metric("carepath_timers_due", "gauge", "Pending timers whose due time has passed.", [("", "\(s.timersDue)")])
        metric("carepath_timers_announced_total", "counter", "timer.fired events published.", [("", "\(s.timersAnnounced)")])
        metric("carepath_consumer_paused", "gauge", "1 while consumption is paused for outbox backpressure.", [("", s.paused ? "1" : "0")])
        metric("carepath_ready", "gauge", "1 once partitions are assigned and the store is open.", [("", s.ready ? "1" : "0")])
        return out
    }
}
