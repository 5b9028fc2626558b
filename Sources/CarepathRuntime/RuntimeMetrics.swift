import CoreMetrics
public import Pathway
public import Prometheus
import Synchronization

/// The runtime's counters, gauges and batch latency histogram: swift-metrics
/// handles whose backend is a swift-prometheus registry this object owns,
/// rendered in Prometheus' text format for `/metrics`. Safe to update from any task.
///
/// Each `RuntimeMetrics` has its own ``registry``, and its handles are made
/// for that registry explicitly rather than through `MetricsSystem.bootstrap`:
/// the global system can be bootstrapped once per process, so tests (many
/// services in one process) and `carepath run` alike get figures of their own
/// without touching it.
///
/// Nothing that steers the runtime reads these figures: readiness and
/// backpressure read ``RuntimeStatus``, which reports into ``report(_:)``.
public final class RuntimeMetrics: Sendable {
    /// Upper bounds (seconds) of the batch latency histogram's buckets.
    public static let latencyBuckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

    /// What has been recorded, totalled, for the progress log, the demo, the
    /// benchmark and tests. The exported figures are the registry's; this is
    /// kept beside them because swift-metrics handles cannot be read back.
    public struct Snapshot: Sendable, Hashable {
        public var consumed = 0
        public var applied = 0
        public var unchanged = 0
        public var deadLettered: [DeadLetterReason: Int] = [:]
        public var recommendations = 0
        public var tasks = 0
        public var batches = 0
        public var published = 0
        public var publishFailures = 0
        public var timersAnnounced = 0
        public var timersPending = 0
        public var timersDue = 0
        public var partitionsClaimed = 0
        public var fencedCommits = 0
        /// Messages not yet processed into the store, per input partition.
        public var lag: [Int32: Int64] = [:]
    }

    /// The registry `/metrics` renders.
    public let registry: PrometheusCollectorRegistry
    /// The input topic, named in help texts and in the lag's `topic` label.
    public let inputTopic: String

    private let factory: PrometheusMetricsFactory
    /// Every family carepath exports, in the order of the text exposition.
    private let families: [Family]
    private let consumed: CoreMetrics.Counter
    private let applied: CoreMetrics.Counter
    private let unchanged: CoreMetrics.Counter
    private let deadLettered: [DeadLetterReason: CoreMetrics.Counter]
    private let recommendations: CoreMetrics.Counter
    private let tasks: CoreMetrics.Counter
    private let batchDuration: CoreMetrics.Timer
    private let outboxBacklog: Meter
    private let published: CoreMetrics.Counter
    private let publishFailures: CoreMetrics.Counter
    private let timersPending: Meter
    private let timersDue: Meter
    private let timersAnnounced: CoreMetrics.Counter
    private let partitionsClaimed: CoreMetrics.Counter
    private let fencedCommits: CoreMetrics.Counter
    private let paused: Meter
    private let ready: Meter
    private let lagHelp: String
    private let state = Mutex(Tally())

    private struct Tally {
        var snapshot = Snapshot()
        /// One gauge per partition the lag was last reported for.
        var lagGauges: [Int32: Meter] = [:]
    }

    /// One metric family as carepath declares it.
    private struct Family: Sendable {
        enum Kind: String, Sendable { case counter, gauge, histogram }
        var name: String
        var kind: Kind
        var help: String
    }

    private static let lagName = "carepath_consumer_lag"

    /// Registers every metric, at zero, in a registry of its own.
    /// - Parameter inputTopic: the input topic, for help texts and the lag's `topic` label.
    public init(inputTopic: String = TopicNames.standard.input) {
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        var families: [Family] = []
        func descriptor(_ name: String, _ kind: Family.Kind, _ help: String) -> MetricNameDescriptor {
            families.append(Family(name: name, kind: kind, help: help))
            return MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
        }
        // The handles are swift-metrics types over swift-prometheus collectors made
        // with a descriptor: the factory alone would register them without HELP text.
        func counter(_ name: String, _ help: String) -> CoreMetrics.Counter {
            CoreMetrics.Counter(label: name, dimensions: [], handler: registry.makeCounter(descriptor: descriptor(name, .counter, help)),
                                factory: factory)
        }
        func gauge(_ name: String, _ help: String) -> Meter {
            Meter(label: name, dimensions: [], handler: registry.makeGauge(descriptor: descriptor(name, .gauge, help)), factory: factory)
        }

        consumed = counter("carepath_events_consumed_total", "Input messages read from \(inputTopic).")
        applied = counter("carepath_events_processed_total", "Input events applied to a patient's pathway.")
        unchanged = counter("carepath_events_unchanged_total", "Re-deliveries and stale timer announcements that changed nothing.")
        let deadLetteredName = "carepath_events_dead_lettered_total"
        let deadLetteredDescriptor = descriptor(deadLetteredName, .counter, "Input messages sent to the dead-letter topic, by reason.")
        var byReason: [DeadLetterReason: CoreMetrics.Counter] = [:]
        for reason in DeadLetterReason.allCases {
            let labels = [("reason", reason.rawValue)]
            byReason[reason] = CoreMetrics.Counter(label: deadLetteredName, dimensions: labels,
                                                   handler: registry.makeCounter(descriptor: deadLetteredDescriptor, labels: labels),
                                                   factory: factory)
        }
        deadLettered = byReason
        recommendations = counter("carepath_recommendations_total", "Recommendation revisions decided.")
        tasks = counter("carepath_tasks_total", "Task versions decided.")
        // Per-partition gauges are made as partitions are reported (``recordLag(_:)``).
        lagHelp = "Messages of \(inputTopic) not yet processed into the store, per partition."
        families.append(Family(name: Self.lagName, kind: .gauge, help: lagHelp))
        let durationName = "carepath_batch_duration_seconds"
        let histogram = registry.makeDurationHistogram(
            descriptor: descriptor(durationName, .histogram, "Time to decide and commit one batch."),
            buckets: Self.latencyBuckets.map { Duration.nanoseconds(Int64(($0 * 1e9).rounded())) })
        batchDuration = CoreMetrics.Timer(label: durationName, dimensions: [], handler: histogram, factory: factory)
        outboxBacklog = gauge("carepath_outbox_backlog", "Outbox messages not yet published.")
        published = counter("carepath_published_total", "Outbox messages whose delivery Kafka confirmed.")
        publishFailures = counter("carepath_publish_failures_total", "Deliveries that failed and wait for a retry.")
        timersPending = gauge("carepath_timers_pending", "Timers scheduled and not yet fired or cancelled.")
        timersDue = gauge("carepath_timers_due", "Pending timers whose due time has passed.")
        timersAnnounced = counter("carepath_timers_announced_total", "timer.fired events published.")
        partitionsClaimed = counter("carepath_partitions_claimed_total",
                                    "Input partitions claimed in the store on assignment, each with a new epoch.")
        fencedCommits = counter("carepath_fenced_commits_total",
                                "Batches refused because another instance had claimed their partition; the instance rejoined its group.")
        paused = gauge("carepath_consumer_paused", "1 while consumption is paused for outbox backpressure.")
        ready = gauge("carepath_ready", "1 once partitions are assigned and the store is open.")

        self.registry = registry
        self.factory = factory
        self.families = families
        self.inputTopic = inputTopic
    }

    /// The totals recorded so far.
    public var snapshot: Snapshot { state.withLock { $0.snapshot } }

    /// Records one committed batch.
    /// - Parameters:
    ///   - summary: what the batch did.
    ///   - seconds: how long deciding and committing it took.
    public func recordBatch(_ summary: BatchDecider.Summary, seconds: Double) {
        consumed.increment(by: summary.consumed)
        applied.increment(by: summary.applied)
        unchanged.increment(by: summary.unchanged)
        recommendations.increment(by: summary.recommendations)
        tasks.increment(by: summary.tasks)
        for (reason, n) in summary.deadLettered { deadLettered[reason]?.increment(by: n) }
        batchDuration.recordNanoseconds(Int64((max(0, seconds) * 1e9).rounded()))
        state.withLock { t in
            t.snapshot.consumed += summary.consumed
            t.snapshot.applied += summary.applied
            t.snapshot.unchanged += summary.unchanged
            t.snapshot.recommendations += summary.recommendations
            t.snapshot.tasks += summary.tasks
            for (reason, n) in summary.deadLettered { t.snapshot.deadLettered[reason, default: 0] += n }
            t.snapshot.batches += 1
        }
    }

    /// Records a round of outbox deliveries.
    /// - Parameters:
    ///   - published: deliveries Kafka confirmed.
    ///   - failed: deliveries that failed and wait for a retry.
    public func recordDeliveries(published: Int, failed: Int) {
        self.published.increment(by: published)
        publishFailures.increment(by: failed)
        state.withLock {
            $0.snapshot.published += published
            $0.snapshot.publishFailures += failed
        }
    }

    /// Records a pass of the timer scheduler.
    /// - Parameters:
    ///   - announced: `timer.fired` events published in this pass.
    ///   - pending: timers scheduled and not yet fired or cancelled.
    ///   - due: pending timers whose due time has passed.
    public func recordTimers(announced: Int, pending: Int, due: Int) {
        timersAnnounced.increment(by: announced)
        timersPending.set(pending)
        timersDue.set(due)
        state.withLock {
            $0.snapshot.timersAnnounced += announced
            $0.snapshot.timersPending = pending
            $0.snapshot.timersDue = due
        }
    }

    /// Records partitions claimed on an assignment.
    /// - Parameter count: how many partitions were claimed.
    public func recordClaims(_ count: Int) {
        partitionsClaimed.increment(by: count)
        state.withLock { $0.snapshot.partitionsClaimed += count }
    }

    /// Records a batch refused because another instance had claimed its partition.
    public func recordFencedCommit() {
        fencedCommits.increment()
        state.withLock { $0.snapshot.fencedCommits += 1 }
    }

    /// Records the consumer lag of the partitions held now; partitions no
    /// longer held leave the exposition.
    /// - Parameter lag: messages not yet processed into the store, per input partition.
    public func recordLag(_ lag: [Int32: Int64]) {
        state.withLock { t in
            t.snapshot.lag = lag
            for (partition, gauge) in t.lagGauges where lag[partition] == nil {
                gauge.destroy()
                t.lagGauges[partition] = nil
            }
            for (partition, value) in lag {
                let gauge = t.lagGauges[partition] ?? {
                    let labels = [("topic", inputTopic), ("partition", String(partition))]
                    let handler = registry.makeGauge(descriptor: MetricNameDescriptor(metricName: Self.lagName, unitName: "", helpText: lagHelp),
                                                     labels: labels)
                    return Meter(label: Self.lagName, dimensions: labels, handler: handler, factory: factory)
                }()
                gauge.set(value)
                t.lagGauges[partition] = gauge
            }
        }
    }

    /// Reports the runtime's control signals: `carepath_ready`,
    /// `carepath_consumer_paused` and `carepath_outbox_backlog`.
    /// - Parameter status: the signals, as ``RuntimeStatus`` holds them.
    public func report(_ status: RuntimeStatus.State) {
        ready.set(status.isReady ? 1 : 0)
        paused.set(status.paused ? 1 : 0)
        outboxBacklog.set(status.outboxBacklog)
    }

    /// The Prometheus text exposition (version 0.0.4) of the registry.
    ///
    /// The registry emits its families and labelled samples in hash order, and
    /// gauges as floating-point numbers (`41.0`). Scrapers accept either, but
    /// people and tests compare scrapes: families come out in a fixed order,
    /// each with its HELP and TYPE even before it has a sample, labelled
    /// samples sorted by their labels (partitions numerically), and gauges
    /// holding whole numbers as integers, as carepath has always rendered them.
    public func prometheusText() -> String {
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        // The registry's blocks, by family: comment lines, then samples.
        var blocks: [String: [Substring]] = [:]
        var current = ""
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                let fields = line.split(separator: " ", maxSplits: 3)
                if fields.count >= 3 { current = String(fields[2]) }
            }
            blocks[current, default: []].append(line)
        }
        var out = ""
        for family in families {
            out += "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) \(family.kind.rawValue)\n"
            var samples = (blocks.removeValue(forKey: family.name) ?? []).filter { !$0.hasPrefix("#") }
            if family.kind != .histogram { samples.sort { Self.labelsOrder(Self.labelValues($0), Self.labelValues($1)) } }
            for sample in samples {
                out += family.kind == .gauge ? Self.integral(sample) : String(sample)
                out += "\n"
            }
        }
        // Families registered by anyone else, as emitted, by name.
        for name in blocks.keys.sorted() where !name.isEmpty {
            for line in blocks[name]! { out += line + "\n" }
        }
        return out
    }

    /// The label values of a sample line, in order (`name{a="1",b="x"} 3` gives `["1", "x"]`).
    private static func labelValues(_ sample: Substring) -> [Substring] {
        guard let open = sample.firstIndex(of: "{"), let close = sample.lastIndex(of: "}"), open < close else { return [] }
        return sample[sample.index(after: open)..<close].split(separator: "\"", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
    }

    /// Label values compared in turn, numbers as numbers.
    private static func labelsOrder(_ a: [Substring], _ b: [Substring]) -> Bool {
        for (x, y) in zip(a, b) where x != y {
            if let i = Int64(x), let j = Int64(y) { return i < j }
            return x < y
        }
        return a.count < b.count
    }

    /// A gauge sample with a whole-number value written as an integer (`41.0` becomes `41`).
    private static func integral(_ sample: Substring) -> String {
        guard let space = sample.lastIndex(of: " "), let value = Double(sample[sample.index(after: space)...]),
              value == value.rounded(), abs(value) < 1e15 else { return String(sample) }
        return "\(sample[...space])\(Int64(value))"
    }
}
