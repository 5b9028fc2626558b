import CarepathRuntime
import CarepathSimulation
import CarepathStore
import Foundation
import Synchronization
import Kafka
import KafkaBenchmarkSupport
import Logging
import Pathway

/// `carepath-bench pipeline`: in one run on the embedded cluster,
/// (a) a raw librdkafka consume-then-produce pipe, (b) carepath end to end
/// (durable SQLite store, every output published), and (c) carepath's latency
/// from produce to published recommendation at a fixed input rate.
enum PipelineBenchmark {
    /// Partitions of every topic for (a) and (b) (`CAREPATH_BENCH_PARTITIONS`,
    /// default 16): the embedded broker keeps at most 5 MiB per partition, so
    /// the cohort must be spread wide enough to stay whole.
    static let partitions = Int(ProcessInfo.processInfo.environment["CAREPATH_BENCH_PARTITIONS"] ?? "") ?? 16

    /// Partitions for (c) (`CAREPATH_BENCH_LATENCY_PARTITIONS`, default 4): each
    /// partition a relay round touches costs the embedded broker about 1 ms.
    static let latencyPartitions = Int(ProcessInfo.processInfo.environment["CAREPATH_BENCH_LATENCY_PARTITIONS"] ?? "") ?? 4

    /// `CAREPATH_STORE_DURABILITY=normal` measures without an fsync per commit.
    static let durability = SQLiteEventStore.Durability(rawValue: ProcessInfo.processInfo.environment["CAREPATH_STORE_DURABILITY"] ?? "full") ?? .full

    static func run(patients: Int, events: Int, rate: Int, seconds latencySeconds: Int) async throws {
        var logger = Logger(label: "carepath.bench") { LogfmtLogHandler(label: $0, level: .error) }
        logger.logLevel = .error
        let partitions = Self.partitions
        let start = Timestamp(millisecondsSinceEpoch: WallClock.system.now().millisecondsSinceEpoch - 3 * 365 * 86_400_000)
        let lines = CohortGenerator(seed: 1, patients: patients, eventsPerPatient: events, start: start).lines()
        let until = WallClock.system.now()
        let expected = OfflineEvaluator.evaluate(jsonl: Array(lines.joined(separator: [0x0A])) + [0x0A], until: until).count
        print("pipeline benchmark: \(lines.count) input events (\(patients) patients x \(events)), \(expected) output messages, \(partitions) partitions (latency: \(latencyPartitions)), embedded cluster (librdkafka 2.0.2 mock), SQLite store (durability \(durability.rawValue))")

        // (a) and (b) read the same pre-loaded topic.
        var throughputCluster: EmbeddedKafkaCluster? = try EmbeddedKafkaCluster.startForCarepath(partitions: partitions, logger: logger)
        let cluster = throughputCluster!
        try cluster.createTopic("bench.pipe.out", partitions: partitions)
        try await feed(lines, to: cluster, logger: logger)
        try await checkWhole(cluster: cluster, partitions: partitions, logger: logger)
        let bootstrap = KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["fetch.wait.max.ms": "10"])
        var clock = ContinuousClock.now
        let piped = try RawLibrdkafka.pipe(configuration: bootstrap, producerConfiguration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["linger.ms": "5"]),
                                           topic: TopicNames.standard.input, partitions: partitions, outputTopic: "bench.pipe.out",
                                           count: lines.count, logger: logger)
        let rawRate = Double(piped) / elapsed(since: clock)
        print(String(format: "  (a) raw librdkafka pipe:    %10.0f events/s (%d piped)", rawRate, piped))

        let folder = NSTemporaryDirectory() + "carepath-bench-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var configuration = RuntimeConfiguration()
        // carepath's own default unless CAREPATH_BENCH_BATCH says otherwise.
        if let batch = Int(ProcessInfo.processInfo.environment["CAREPATH_BENCH_BATCH"] ?? "") { configuration.batchSize = batch }
        let store = try await StoreFactory.open(.sqlite(path: folder + "/throughput.sqlite"), durability: durability)
        let service = CarepathApplication(settings: .init(configuration: configuration, ruleset: .standard),
                                          kafka: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), store: store, logger: logger)
        clock = ContinuousClock.now
        let ended = EndFlag()
        let running = Task {
            defer { ended.set() }
            try await service.run()
        }
        var firstRead: ContinuousClock.Instant?
        var cpuAtFirstRead = ProcessorTime.now
        while service.metrics.snapshot.published < expected {
            if ended.isSet { try await running.value; throw BenchmarkError("carepath stopped before publishing everything") }
            if firstRead == nil, service.metrics.snapshot.consumed > 0 {
                firstRead = .now
                cpuAtFirstRead = .now
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        let done = ContinuousClock.now
        let cpu = ProcessorTime.now - cpuAtFirstRead
        await service.triggerGracefulShutdown()
        try await running.value  // the application closes the store
        let carepathRate = Double(lines.count) / (firstRead.map { Self.seconds(done - $0) } ?? elapsed(since: clock))
        print(String(format: "  (b) carepath end to end:    %10.0f events/s (%d outputs published; %.1f s including the group join)",
                     carepathRate, expected, Self.seconds(done - clock)))
        print(String(format: "      ratio carepath/raw:     %10.1f%%", 100 * carepathRate / rawRate))
        let wall = firstRead.map { Self.seconds(done - $0) } ?? elapsed(since: clock)
        print(String(format: "      processor time:         %10.1f s user + %.1f s system in %.1f s (%.2f of %d cores; the embedded broker included)",
                     cpu.user, cpu.system, wall, (cpu.user + cpu.system) / wall, ProcessInfo.processInfo.activeProcessorCount))

        // (c) latency at a fixed rate, on a fresh cluster and store, the
        // first cluster (and its 450,000 messages) gone.
        withExtendedLifetime(cluster) {}
        throughputCluster = nil
        _ = throughputCluster
        let latencies = try await latency(rate: rate, seconds: latencySeconds, folder: folder, logger: logger)
        if latencies.isEmpty {
            print("  (c) latency: no recommendation was published")
        } else {
            let sorted = latencies.sorted()
            func percentile(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
            print(String(format: "  (c) latency at %d events/s, produce -> published recommendation (%d samples): p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                         rate, sorted.count, percentile(0.5), percentile(0.99), sorted.last!))
        }
    }

    static func latency(rate: Int, seconds: Int, folder: String, logger: Logger) async throws -> [Double] {
        let partitions = Self.latencyPartitions
        let cluster = try EmbeddedKafkaCluster.startForCarepath(partitions: partitions, logger: logger)
        let total = rate * seconds
        // Clinical times from now on, as live traffic has: a history dated a year
        // back would make every patient's timers due at once, and the scheduler's
        // announcements would arrive as a burst no hospital produces.
        let lines = CohortGenerator(seed: 7, patients: max(1, total / 10), eventsPerPatient: 10,
                                    start: WallClock.system.now()).lines()
        var configuration = RuntimeConfiguration()
        configuration.batchWaitMilliseconds = 2
        let store = try await StoreFactory.open(.sqlite(path: folder + "/latency.sqlite"), durability: durability)
        let service = CarepathApplication(settings: .init(configuration: configuration, ruleset: .standard),
                                          kafka: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, extraProperties), store: store,
                                          logger: logger)
        let running = Task { try await service.run() }
        while !service.status.current.isReady { try await Task.sleep(for: .milliseconds(20)) }

        let reader = try KafkaConsumer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["fetch.wait.max.ms": "1"]),
            assignment: Dictionary(uniqueKeysWithValues: (0..<partitions).map { (TopicPartition(TopicNames.standard.recommendations, Int32($0)), Optional<Int64>.none) }),
            logger: logger)
        // The reader's first fetches wait for its connection and metadata: let
        // it settle before the clock starts, so only carepath is measured.
        let settled = ContinuousClock.now + .seconds(1)
        while ContinuousClock.now < settled { _ = try await reader.poll(maxMessages: 100, timeout: .milliseconds(50)) }
        let sent = SendTimes()
        let reading = Task {
            var samples: [Double] = []
            while !Task.isCancelled {
                guard let batch = try? await reader.poll(maxMessages: 100, timeout: .milliseconds(2)) else { break }
                let arrived = ContinuousClock.now
                for m in batch {
                    guard let cause = m.header("carepath-causation-id").map({ String(decoding: $0, as: UTF8.self) }),
                          let at = sent.time(of: cause) else { continue }
                    samples.append(Self.seconds(arrived - at) * 1000)
                }
            }
            return samples
        }
        let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["linger.ms": "0"]), logger: logger)
        // Warm the benchmark's own producer up (connection, the input topic's
        // metadata) so that its first sends do not count against carepath.
        try await producer.prepare(topics: [TopicNames.standard.input])
        let begin = ContinuousClock.now
        let tick = 10  // ms
        var next = 0
        while next < min(total, lines.count) {
            let due = min(lines.count, Int(Self.seconds(ContinuousClock.now - begin) * Double(rate)) + 1)
            var batch: [ProducerMessage] = []
            while next < due {
                let line = lines[next]
                if case .event(let e) = InputDecoder.outcome(of: line) {
                    sent.record(e.id)
                    batch.append(ProducerMessage(topic: TopicNames.standard.input, key: Array(e.subject.utf8), value: line))
                }
                next += 1
            }
            if !batch.isEmpty { Task { _ = await producer.send(batch) } }
            try await Task.sleep(for: .milliseconds(tick))
        }
        try await Task.sleep(for: .seconds(2))
        reading.cancel()
        let samples = await reading.value
        await service.triggerGracefulShutdown()
        try await running.value  // the application closes the store
        try await producer.shutdown()
        await reader.close()
        withExtendedLifetime(cluster) {}
        return samples
    }

    static func feed(_ lines: [[UInt8]], to cluster: EmbeddedKafkaCluster, logger: Logger) async throws {
        let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["linger.ms": "5"]), logger: logger)
        for chunk in stride(from: 0, to: lines.count, by: 10_000) {
            let batch = lines[chunk..<min(chunk + 10_000, lines.count)].map { line -> ProducerMessage in
                let key: String? = switch InputDecoder.outcome(of: line) {
                case .event(let e): e.subject
                case .rejected(_, let subject, _): subject
                }
                return ProducerMessage(topic: TopicNames.standard.input, key: key.map { Array($0.utf8) }, value: line)
            }
            for result in await producer.send(batch) { _ = try result.get() }
        }
        try await producer.shutdown()
    }

    /// `CAREPATH_BENCH_KAFKA="name=value,name=value"`: librdkafka properties for carepath's clients.
    static var extraProperties: [String: String] {
        var out: [String: String] = [:]
        for pair in (ProcessInfo.processInfo.environment["CAREPATH_BENCH_KAFKA"] ?? "").split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { out[String(parts[0])] = String(parts[1]) }
        }
        return out
    }

    static func elapsed(since start: ContinuousClock.Instant) -> Double { seconds(ContinuousClock.now - start) }

    static func seconds(_ d: Duration) -> Double {
        d / .seconds(1)
    }
}

/// When each input event was handed to the producer, by event id.
final class SendTimes: @unchecked Sendable {
    private let lock = NSLock()
    private var times: [String: ContinuousClock.Instant] = [:]

    func record(_ id: String) {
        lock.lock()
        times[id] = .now
        lock.unlock()
    }

    func time(of id: String) -> ContinuousClock.Instant? {
        lock.lock()
        defer { lock.unlock() }
        return times[id]
    }
}

/// Set once, read from anywhere.
final class EndFlag: Sendable {
    private let flag = Mutex(false)
    func set() { flag.withLock { $0 = true } }
    var isSet: Bool { flag.withLock { $0 } }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension PipelineBenchmark {
    /// Fails when the embedded broker dropped the start of a partition (its 5 MiB cap).
    static func checkWhole(cluster: EmbeddedKafkaCluster, partitions: Int, logger: Logger) async throws {
        let reader = try KafkaConsumer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), assignment: [:],
                                       logger: logger, readHeaders: false)
        for p in 0..<Int32(partitions) {
            let (low, _) = try await reader.watermarks(TopicPartition(TopicNames.standard.input, p))
            if low > 0 {
                await reader.close()
                throw BenchmarkError("the embedded broker dropped \(low) messages of partition \(p) (it keeps 5 MiB per partition): set CAREPATH_BENCH_PARTITIONS higher")
            }
        }
        await reader.close()
    }
}

/// The processor time this process has used (all threads).
struct ProcessorTime {
    var user: Double
    var system: Double

    static var now: ProcessorTime {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return ProcessorTime(user: seconds(usage.ru_utime), system: seconds(usage.ru_stime))
    }

    static func - (a: ProcessorTime, b: ProcessorTime) -> ProcessorTime {
        ProcessorTime(user: a.user - b.user, system: a.system - b.system)
    }
}
