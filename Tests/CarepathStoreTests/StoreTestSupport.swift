import CarepathSimulation
import CarepathStore
import Foundation
import Pathway
import Testing

/// A scratch folder removed at the end of the test.
final class ScratchFolder {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "carepath-store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var store: String { path + "/carepath.sqlite" }
}

/// Domain events of a few synthetic patients, decided offline.
func syntheticStreams(patients: Int = 3, events: Int = 12) -> [String: [DomainEvent]] {
    let cohort = CohortGenerator(seed: 7, patients: patients, eventsPerPatient: events,
                                 start: Timestamp(rfc3339: "2026-01-05T08:00:00Z")!)
    var evaluator = OfflineEvaluator(keepStreams: true)
    var messages: [OutputMessage] = []
    for (n, line) in cohort.lines().enumerated() { evaluator.process(line, lineNumber: n, into: &messages) }
    return evaluator.streams
}

let now = Timestamp(rfc3339: "2026-11-22T09:00:00Z")!

extension StoreBatch {
    /// Records domain events with the messages they publish (``Projection``),
    /// as the runtime's batch decider gives them to the store.
    mutating func recordWithMessages(_ events: [DomainEvent], position: InputPosition?) {
        record(events, position: position)
        publish(contentsOf: events.flatMap { Projection.messages(for: $0) })
    }
}

/// The store backends every test of `StoreConformanceTests` runs on.
enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case memory
    /// A new database on the test process's PostgreSQL (``PostgresTestServer``).
    case postgresql

    var testDescription: String { rawValue }

    /// Runs `body` on a fresh, empty store of this backend (a SQLite file in
    /// a scratch folder, a new in-memory store, or a new PostgreSQL database),
    /// and closes it afterwards.
    func withFreshStore(_ body: (any EventStore) async throws -> Void) async throws {
        let folder = try ScratchFolder()
        let store: any EventStore = switch self {
        case .sqlite: try SQLiteEventStore(path: folder.store)
        case .memory: InMemoryEventStore()
        case .postgresql: try await PostgresEventStore.open(try PostgresTestServer.started().createDatabase())
        }
        do {
            try await body(store)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
        withExtendedLifetime(folder) {}
    }
}

/// The same events under another patient id: a stream for a patient of the
/// test's choosing (the store never looks inside a payload).
func renamed(_ events: some Sequence<DomainEvent>, to patientId: String) -> [DomainEvent] {
    events.map {
        DomainEvent(patientId: patientId, version: $0.version, occurredAt: $0.occurredAt,
                    causationEventId: $0.causationEventId, payload: $0.payload)
    }
}

/// Whether `error` is ``StoreError/constraint(_:)``.
func isConstraint(_ error: any Error) -> Bool {
    if case StoreError.constraint = error { true } else { false }
}

/// Whether `error` is ``StoreError/unavailable(_:)``.
func isUnavailable(_ error: any Error) -> Bool {
    if case StoreError.unavailable = error { true } else { false }
}

/// Everything a store's protocol can show, to check that a failed commit changed nothing.
struct StoreSnapshot: Equatable {
    var patientIds: [String]
    var streams: [String: [DomainEvent]]
    var offsets: [Int32: Int64]
    var processed: [StoreBatch.ProcessedInput]
    var nextOutboxSequence: Int64
    var outbox: [OutboxRecord]
    var backlog: Int
    var awaitingRetry: Int
    var timers: [StoredTimer]
    var statistics: StoreStatistics

    init(of store: any EventStore, topic: String = "clinical.events") async throws {
        patientIds = try await store.patientIds()
        streams = try await store.streams(of: patientIds)
        offsets = try await store.nextOffsets(topic: topic)
        processed = try await store.processedInputs()
        nextOutboxSequence = try await store.nextOutboxSequence()
        outbox = try await store.outbox(since: Timestamp(millisecondsSinceEpoch: 0), patientId: nil)
        backlog = try await store.outboxBacklog()
        awaitingRetry = try await store.outboxRowsAwaitingRetry()
        timers = try await store.timersToAnnounce(dueBy: farFuture, limit: 100_000)
        statistics = try await store.statistics(now: farFuture)
    }
}

let farFuture = Timestamp(rfc3339: "2099-01-01T00:00:00Z")!
