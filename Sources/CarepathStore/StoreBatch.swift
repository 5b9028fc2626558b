import CarepathJSON
public import Pathway

/// Everything one consumed batch changes, committed by ``EventStore/commit(_:)``
/// in one transaction: streams, processed inputs, next offsets, outbox rows and
/// timers.
///
/// It holds what to store and nothing more: the messages to publish are made
/// by the runtime (the batch decider projects domain events into them) and
/// given to it, so that the store never depends on what is published.
public struct StoreBatch: Sendable {
    /// Appends to one patient's stream, expected to be at `expectedVersion`.
    public struct Append: Sendable, Hashable {
        public var patientId: String
        public var expectedVersion: Int
        public var events: [DomainEvent]
        /// What the store keeps of each event, in the order of `events`: its
        /// bytes in the storage codec's current version (``StoredEventCodec``),
        /// written when the batch is built rather than inside the commit.
        public var stored: [StoredEvent]
    }

    /// An input applied to a patient (a `ClinicalEventRecorded`), and where it was read.
    public struct ProcessedInput: Sendable, Hashable {
        public var patientId: String
        public var source: String
        public var id: String
        public var fingerprint: String
        public var position: InputPosition?
    }

    /// Where an input was read: topic, partition and offset.
    public struct InputPosition: Sendable, Hashable {
        public var topic: String
        public var partition: Int32
        public var offset: Int64

        public init(topic: String, partition: Int32, offset: Int64) {
            self.topic = topic
            self.partition = partition
            self.offset = offset
        }
    }

    /// When the batch was committed (wall clock): the outbox rows' `createdAt`.
    public var recordedAt: Timestamp
    public private(set) var appends: [Append] = []
    public private(set) var processed: [ProcessedInput] = []
    /// The next offset to read per topic and partition, after this batch.
    public private(set) var nextOffsets: [InputPosition] = []
    public private(set) var outbox: [OutputMessage] = []
    public private(set) var timersScheduled: [StoredTimer] = []
    /// Timers fired or cancelled: no longer pending.
    public private(set) var timersEnded: [String] = []
    /// The claims the committing instance holds on the partitions of the
    /// batch's inputs: the commit writes nothing unless each is still its
    /// partition's current claim (``PartitionClaims``).
    public private(set) var fences: [PartitionClaim] = []
    private var appendIndex: [String: Int] = [:]
    /// Reused to encode each event for the store.
    private var scratch = JSONWriter(capacity: 4096)

    public init(recordedAt: Timestamp) {
        self.recordedAt = recordedAt
    }

    /// Makes the commit depend on a claim: it writes nothing, and fails with
    /// ``StoreError/fenced(_:current:)``, if another instance has claimed the
    /// partition since. A second fence for the same partition replaces the first.
    /// - Parameter claim: a claim this instance was granted.
    public mutating func fence(_ claim: PartitionClaim) {
        fences.removeAll { $0.topic == claim.topic && $0.partition == claim.partition }
        fences.append(claim)
    }

    /// Nothing to write.
    public var isEmpty: Bool { appends.isEmpty && nextOffsets.isEmpty && outbox.isEmpty }

    /// Records domain events decided for a patient: appended to the patient's
    /// stream (expected at the version before the first of them), each kept
    /// as the storage codec writes it, with the input they record and the
    /// timers they schedule or end. The messages they publish are not made
    /// here: the runtime adds them with ``publish(_:)``.
    /// - Parameters:
    ///   - events: consecutive domain events of one patient.
    ///   - position: where the input behind them was read, if anywhere.
    public mutating func record(_ events: [DomainEvent], position: InputPosition?) {
        guard let first = events.first else { return }
        let patientId = first.patientId
        let index: Int
        if let existing = appendIndex[patientId] {
            index = existing
        } else {
            index = appends.count
            appendIndex[patientId] = index
            appends.append(Append(patientId: patientId, expectedVersion: first.version - 1, events: [], stored: []))
        }
        for event in events {
            appends[index].events.append(event)
            scratch.bytes.removeAll(keepingCapacity: true)
            StoredEventCodec.encode(event, into: &scratch)
            appends[index].stored.append(StoredEvent(version: StoredEventCodec.current, bytes: scratch.exactBytes))
            switch event.payload {
            case .clinicalEventRecorded(let input, _):
                processed.append(ProcessedInput(patientId: patientId, source: input.source, id: input.id,
                                                fingerprint: input.fingerprint, position: position))
            case .timerScheduled(let timer):
                timersScheduled.append(StoredTimer(timer: timer, patientId: patientId))
            case .timerFired(let timer), .timerCancelled(let timer, _):
                timersEnded.append(timer.id)
            default:
                break
            }
        }
    }

    /// Adds a message to publish: committed with the batch, as an outbox row.
    /// - Parameter message: a message a domain event publishes, or a dead letter.
    public mutating func publish(_ message: OutputMessage) {
        outbox.append(message)
    }

    /// Adds messages to publish, in their order.
    /// - Parameter messages: what the batch's domain events publish, or dead letters.
    public mutating func publish(contentsOf messages: some Sequence<OutputMessage>) {
        outbox.append(contentsOf: messages)
    }

    /// Records that `topic`'s `partition` has been read up to `nextOffset` (exclusive).
    public mutating func advance(topic: String, partition: Int32, to nextOffset: Int64) {
        if let index = nextOffsets.firstIndex(where: { $0.topic == topic && $0.partition == partition }) {
            nextOffsets[index].offset = max(nextOffsets[index].offset, nextOffset)
        } else {
            nextOffsets.append(InputPosition(topic: topic, partition: partition, offset: nextOffset))
        }
    }
}
