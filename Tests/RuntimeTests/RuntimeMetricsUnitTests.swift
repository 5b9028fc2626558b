@testable import CarepathRuntime
import Pathway
import Testing

/// Unit tests of ``RuntimeMetrics/prometheusText()``: the figures recorded
/// through swift-metrics come out of the swift-prometheus registry as exact
/// Prometheus text-format samples.
@Suite("RuntimeMetrics: Prometheus text exposition")
struct RuntimeMetricsUnitTests {
    /// Two batches with known summaries; latencies chosen to be exact in binary (so the sum prints exactly).
    static func twoBatches(inputTopic: String = "clinical.events") -> RuntimeMetrics {
        let metrics = RuntimeMetrics(inputTopic: inputTopic)
        var first = BatchDecider.Summary()
        first.consumed = 5
        first.applied = 3
        first.unchanged = 1
        first.deadLettered = [.invalidJSON: 1]
        first.recommendations = 2
        first.tasks = 1
        var second = BatchDecider.Summary()
        second.consumed = 2
        second.deadLettered = [.invalidJSON: 1, .unknownType: 1]
        second.tasks = 3
        metrics.recordBatch(first, seconds: 0.00390625)  // 2^-8: in le=0.005 and above
        metrics.recordBatch(second, seconds: 0.375)  // in le=0.5 and above
        return metrics
    }

    /// The sample lines (not comments) of a text, by `name{labels}`.
    static func samples(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            out[String(line[..<space])] = String(line[line.index(after: space)...])
        }
        return out
    }

    @Test("recorded batches come out as exact counter samples")
    func counters() {
        // Given two recorded batches
        let text = Self.twoBatches().prometheusText()
        let lines = Set(text.split(separator: "\n").map(String.init))

        // Then the counters are the sums
        for expected in [
            "carepath_events_consumed_total 7",
            "carepath_events_processed_total 3",
            "carepath_events_unchanged_total 1",
            "carepath_recommendations_total 2",
            "carepath_tasks_total 4",
            "carepath_events_dead_lettered_total{reason=\"invalid-json\"} 2",
            "carepath_events_dead_lettered_total{reason=\"unknown-type\"} 1",
            "carepath_events_dead_lettered_total{reason=\"conflicting-duplicate\"} 0",
            "carepath_published_total 0",
            "carepath_ready 0",
            "carepath_consumer_paused 0",
        ] {
            #expect(lines.contains(expected), "missing \(expected)")
        }
        // and every dead-letter reason has a sample, zero or not
        let reasons = Self.samples(text).keys.filter { $0.hasPrefix("carepath_events_dead_lettered_total{") }
        #expect(reasons.count == DeadLetterReason.allCases.count)
    }

    @Test("each metric has HELP and TYPE lines, the input topic in its help")
    func helpAndType() {
        let text = Self.twoBatches(inputTopic: "custom.input").prometheusText()
        let lines = text.split(separator: "\n").map(String.init)
        for (name, type) in [
            ("carepath_events_consumed_total", "counter"), ("carepath_events_processed_total", "counter"),
            ("carepath_events_unchanged_total", "counter"), ("carepath_events_dead_lettered_total", "counter"),
            ("carepath_recommendations_total", "counter"), ("carepath_tasks_total", "counter"),
            ("carepath_consumer_lag", "gauge"), ("carepath_batch_duration_seconds", "histogram"),
            ("carepath_outbox_backlog", "gauge"), ("carepath_published_total", "counter"),
            ("carepath_publish_failures_total", "counter"), ("carepath_timers_pending", "gauge"),
            ("carepath_timers_due", "gauge"), ("carepath_timers_announced_total", "counter"),
            ("carepath_partitions_claimed_total", "counter"), ("carepath_fenced_commits_total", "counter"),
            ("carepath_consumer_paused", "gauge"), ("carepath_ready", "gauge"),
        ] {
            let help = lines.firstIndex { $0.hasPrefix("# HELP \(name) ") }
            let typeLine = lines.firstIndex(of: "# TYPE \(name) \(type)")
            #expect(help != nil, "no HELP for \(name)")
            #expect(typeLine != nil, "no TYPE \(type) for \(name)")
            if let help, let typeLine { #expect(typeLine == help + 1, "TYPE of \(name) should follow its HELP") }
        }
        #expect(lines.contains("# HELP carepath_events_consumed_total Input messages read from custom.input."))
        #expect(text.hasSuffix("\n"))
    }

    @Test("claims and fenced commits are counted, in the exposition and the snapshot")
    func claimsAndFences() {
        let metrics = RuntimeMetrics()
        metrics.recordClaims(4)
        metrics.recordClaims(2)
        metrics.recordFencedCommit()
        let lines = metrics.prometheusText().split(separator: "\n").map(String.init)
        #expect(lines.contains("carepath_partitions_claimed_total 6"))
        #expect(lines.contains("carepath_fenced_commits_total 1"))
        #expect(metrics.snapshot.partitionsClaimed == 6 && metrics.snapshot.fencedCommits == 1)
    }

    @Test("the latency histogram's buckets are cumulative, with +Inf, _sum and _count")
    func histogram() {
        let samples = Self.samples(Self.twoBatches().prometheusText())
        let expected: [(String, String)] = [
            ("0.001", "0"), ("0.0025", "0"), ("0.005", "1"), ("0.01", "1"), ("0.025", "1"), ("0.05", "1"),
            ("0.1", "1"), ("0.25", "1"), ("0.5", "2"), ("1.0", "2"), ("2.5", "2"), ("+Inf", "2"),
        ]
        for (le, count) in expected {
            #expect(samples["carepath_batch_duration_seconds_bucket{le=\"\(le)\"}"] == count, "bucket le=\(le)")
        }
        let buckets = samples.keys.filter { $0.hasPrefix("carepath_batch_duration_seconds_bucket") }
        #expect(buckets.count == RuntimeMetrics.latencyBuckets.count + 1)
        #expect(samples["carepath_batch_duration_seconds_count"] == "2")
        #expect(samples["carepath_batch_duration_seconds_sum"] == "0.37890625")
    }

    @Test("a latency exactly on a bucket's bound counts in that bucket")
    func bucketBound() {
        let metrics = RuntimeMetrics()
        metrics.recordBatch(BatchDecider.Summary(), seconds: 0.005)
        metrics.recordBatch(BatchDecider.Summary(), seconds: 30)
        let samples = Self.samples(metrics.prometheusText())
        #expect(samples["carepath_batch_duration_seconds_bucket{le=\"0.0025\"}"] == "0")
        #expect(samples["carepath_batch_duration_seconds_bucket{le=\"0.005\"}"] == "1")
        #expect(samples["carepath_batch_duration_seconds_bucket{le=\"2.5\"}"] == "1")
        #expect(samples["carepath_batch_duration_seconds_bucket{le=\"+Inf\"}"] == "2")
        #expect(metrics.snapshot.batches == 2)
    }

    @Test("gauges: lag per partition in partition order, backlog, timers, paused and ready")
    func gauges() {
        // Given figures set by the runtime
        let metrics = RuntimeMetrics()
        metrics.recordLag([10: 3, 2: 12, 0: 0])
        metrics.recordTimers(announced: 9, pending: 6, due: 2)
        metrics.recordDeliveries(published: 120, failed: 4)
        RuntimeStatus(reportingTo: metrics).update {
            $0.outboxBacklog = 41
            $0.paused = true
            $0.readiness = .ready
        }

        // When rendered
        let text = metrics.prometheusText()
        let lines = text.split(separator: "\n").map(String.init)

        // Then the lag samples are in partition order (numeric, not textual)
        let lag = lines.filter { $0.hasPrefix("carepath_consumer_lag{") }
        #expect(lag == [
            "carepath_consumer_lag{topic=\"clinical.events\",partition=\"0\"} 0",
            "carepath_consumer_lag{topic=\"clinical.events\",partition=\"2\"} 12",
            "carepath_consumer_lag{topic=\"clinical.events\",partition=\"10\"} 3",
        ])
        for expected in ["carepath_outbox_backlog 41", "carepath_timers_pending 6", "carepath_timers_due 2",
                         "carepath_timers_announced_total 9", "carepath_published_total 120",
                         "carepath_publish_failures_total 4", "carepath_consumer_paused 1", "carepath_ready 1"] {
            #expect(lines.contains(expected), "missing \(expected)")
        }
    }

    @Test("every line parses: a HELP or TYPE comment, or `name{labels} value` of a declared family")
    func parseable() throws {
        // Given a text with every kind of sample, labels included
        let metrics = Self.twoBatches()
        metrics.recordLag([0: 5, 1: 7])
        let text = metrics.prometheusText()

        let comment = try Regex(#"# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+|TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped))"#)
        let sample = try Regex(#"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*")*\})? (-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|\+Inf|-Inf|NaN)"#)
        var declared = Set<String>()
        var sampleCount = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            if line.hasPrefix("#") {
                #expect(line.wholeMatch(of: comment) != nil, "unparseable comment: \(line)")
                if line.hasPrefix("# TYPE ") { declared.insert(String(line.split(separator: " ")[2])) }
            } else {
                let match = line.wholeMatch(of: sample)
                #expect(match != nil, "unparseable sample: \(line)")
                if let match, let name = match.output[1].substring.map(String.init) {
                    let family = ["_bucket", "_sum", "_count"].reduce(name) { name, suffix in
                        declared.contains(name) ? name : (name.hasSuffix(suffix) ? String(name.dropLast(suffix.count)) : name)
                    }
                    #expect(declared.contains(family), "\(name) appears before its TYPE")
                    sampleCount += 1
                }
            }
        }
        #expect(sampleCount > 30)
        #expect(text.last == "\n")
    }
    @Test("a partition no longer assigned leaves the lag; its HELP and TYPE stay")
    func lagOfRevokedPartitions() {
        // Given lag reported for three partitions
        let metrics = RuntimeMetrics()
        metrics.recordLag([0: 4, 1: 5, 2: 6])

        // When the consumer holds only partition 1, then none
        metrics.recordLag([1: 0])
        let one = metrics.prometheusText().split(separator: "\n").filter { $0.hasPrefix("carepath_consumer_lag") }
        metrics.recordLag([:])
        let none = metrics.prometheusText()

        // Then only what is held is reported
        #expect(one == ["carepath_consumer_lag{topic=\"clinical.events\",partition=\"1\"} 0"])
        #expect(!none.contains("carepath_consumer_lag{"))
        #expect(none.contains("# TYPE carepath_consumer_lag gauge\n"))
        #expect(metrics.snapshot.lag.isEmpty)
    }

    @Test("each RuntimeMetrics has a registry of its own: figures never mix")
    func independentRegistries() {
        let a = Self.twoBatches()
        let b = RuntimeMetrics()
        #expect(a.registry !== b.registry)
        #expect(b.prometheusText().contains("carepath_events_consumed_total 0\n"))
        #expect(a.prometheusText().contains("carepath_events_consumed_total 7\n"))
        // Rendering twice gives the same text (a fixed order, not the registry's hash order).
        #expect(a.prometheusText() == a.prometheusText())
    }
}

/// ``RuntimeStatus``: the signals readiness and backpressure read, reported to the metrics.
@Suite("RuntimeStatus: readiness and backpressure signals")
struct RuntimeStatusUnitTests {
    @Test("ready once a partition is assigned, through later rebalances, until stopping and stopped")
    func readiness() {
        let metrics = RuntimeMetrics()
        let status = RuntimeStatus(reportingTo: metrics)
        #expect(status.current.readiness == .starting)
        #expect(status.current.readiness.reason == "no partitions assigned yet")

        // An empty assignment (the group still joining) is not ready
        status.assigned([])
        #expect(!status.current.isReady)

        // Assigned: ready, and /metrics says so
        status.assigned([0, 3])
        #expect(status.current.isReady)
        #expect(status.current.assignedPartitions == [0, 3])
        #expect(metrics.prometheusText().contains("carepath_ready 1\n"))

        // A rebalance that takes every partition away for a moment does not flap readiness
        status.assigned([])
        #expect(status.current.isReady)

        // Shutting down: not ready at once, and a later assignment does not make it ready again
        status.update { $0.readiness = .stopping }
        #expect(!status.current.isReady)
        #expect(status.current.readiness.reason == "carepath is shutting down")
        status.assigned([1])
        #expect(status.current.readiness == .stopping)
        #expect(metrics.prometheusText().contains("carepath_ready 0\n"))

        // Stopped: not ready, with a reason
        status.update { $0.readiness = .stopped }
        #expect(!status.current.isReady)
        #expect(status.current.readiness.reason != nil)
        #expect(metrics.prometheusText().contains("carepath_ready 0\n"))
    }

    @Test("the backlog and the pause are reported to the metrics, and read from the status")
    func backlog() {
        let metrics = RuntimeMetrics()
        let status = RuntimeStatus(reportingTo: metrics)
        status.outboxBacklog(120_001)
        status.update { $0.paused = true }
        #expect(status.current.outboxBacklog == 120_001)
        #expect(status.current.paused)
        let text = metrics.prometheusText()
        #expect(text.contains("carepath_outbox_backlog 120001\n"))
        #expect(text.contains("carepath_consumer_paused 1\n"))
    }
}
