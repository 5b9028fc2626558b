import CarepathJSON
public import CarepathStore
public import Kafka
public import Pathway

/// Turns one consumed batch into one ``StoreBatch``: decodes each message,
/// applies it to its patient's state, dead-letters what cannot be applied, and
/// advances each partition's next offset.
///
/// Pure: the wall clock (`receivedAt`) and the patients' states are passed in,
/// the decisions come out. The states it returns replace the caller's only
/// once the store has committed the batch.
public struct BatchDecider: Sendable {
    public let ruleset: Ruleset
    public let topics: TopicNames

    public init(ruleset: Ruleset, topics: TopicNames) {
        self.ruleset = ruleset
        self.topics = topics
    }

    /// A consumed message, decoded.
    public struct Decoded: Sendable {
        public var message: KafkaMessage
        /// The message as the input formats see it.
        public var record: InputRecord
        /// Its format, its event or why it is refused, and the headers a dead letter keeps.
        public var input: DecodedInput

        /// The message value as received.
        public var bytes: [UInt8] { record.bytes }
        /// The validated event or the reason it is refused.
        public var outcome: InputDecoder.Outcome { input.outcome }
    }

    /// What a batch did, for logs and metrics.
    public struct Summary: Sendable, Hashable {
        public var consumed = 0
        /// Inputs that appended domain events.
        public var applied = 0
        /// Re-deliveries (and timer announcements already honoured) that changed nothing.
        public var unchanged = 0
        public var deadLettered: [DeadLetterReason: Int] = [:]
        public var recommendations = 0
        public var tasks = 0

        /// An empty summary: nothing consumed yet.
        public init() {}
    }

    /// The result of deciding one batch.
    public struct Outcome: Sendable {
        public var batch: StoreBatch
        /// The patients' states after the batch (only those it touched).
        public var states: [String: PatientState]
        public var summary: Summary
    }

    /// Decodes messages, each in the format its headers choose (structured or
    /// binary CloudEvents, ``InputFormat``); cheap enough to run before
    /// loading the patients they name.
    public static func decode(_ messages: [KafkaMessage]) -> [Decoded] {
        messages.map { message in
            let record = InputRecord(message)
            return Decoded(message: message, record: record, input: InputFormat.decode(record))
        }
    }

    /// The patients the decoded messages name.
    public static func patientIds(in decoded: [Decoded]) -> Set<String> {
        var ids = Set<String>()
        for d in decoded { if case .event(let event) = d.outcome { ids.insert(event.subject) } }
        return ids
    }

    /// Decides a decoded batch.
    /// - Parameters:
    ///   - decoded: the batch, in consumption order.
    ///   - states: the current state of every patient the batch names (a
    ///     missing one starts from ``PatientState/initial(patientId:)``).
    ///   - receivedAt: the wall clock, for dead letters and the outbox.
    /// - Returns: the store batch, the patients' new states and a summary.
    public func decide(_ decoded: [Decoded], states: [String: PatientState], receivedAt: Timestamp) -> Outcome {
        var batch = StoreBatch(recordedAt: receivedAt)
        var scratch = JSONWriter(capacity: 4096)
        var working: [String: PatientState] = [:]
        var summary = Summary()
        for d in decoded {
            let m = d.message
            summary.consumed += 1
            batch.advance(topic: m.topic, partition: m.partition, to: m.offset + 1)
            let key = m.key.map { String(decoding: $0, as: UTF8.self) }
            func deadLetter(_ rejection: Rejection, inputId: String?) {
                // The path the message's format gives the field (a header in binary mode).
                let letter = DeadLetter(rejection: d.input.located(rejection), bytes: d.bytes, topic: m.topic, partition: Int(m.partition),
                                        offset: m.offset, key: key, receivedAt: receivedAt, inputId: inputId,
                                        headers: d.input.eventHeaders)
                batch.publish(letter.message(topics: topics))
                summary.deadLettered[rejection.reason, default: 0] += 1
            }
            switch d.outcome {
            case .rejected(let rejection, _, let id):
                deadLetter(rejection, inputId: id)
            case .event(let event):
                guard key == event.subject else {
                    let shown = key.map { "\"\($0.prefix(80))\"" } ?? "no key"
                    deadLetter(Rejection(.invalidField, at: "$.subject",
                                         "the Kafka key (\(shown)) must equal subject \"\(event.subject)\": producers must key clinical.events by patient id"),
                               inputId: event.id)
                    continue
                }
                // Taken out of `working` so that `decide` evolves it in place
                // without a copy; put back only if this batch changed it.
                let changedEarlier = working[event.subject] != nil
                var state = working.removeValue(forKey: event.subject) ?? states[event.subject] ?? .initial(patientId: event.subject)
                var changed = changedEarlier
                defer { if changed { working[event.subject] = state } }
                switch Pathway.decide(.apply(event), evolving: &state, ruleset: ruleset) {
                case .rejected(let rejection):
                    deadLetter(rejection, inputId: event.id)
                case .conflicting(let rejection, let events):
                    // Dead-lettered, and recorded for a clinician (CONFLICTING_RESULT_REVIEW).
                    deadLetter(rejection, inputId: event.id)
                    changed = true
                    summary.recommendations += events.count { if case .recommendationIssued = $0.payload { true } else if case .recommendationRevised = $0.payload { true } else { false } }
                    summary.tasks += events.count { if case .taskRequested = $0.payload { true } else if case .taskChanged = $0.payload { true } else { false } }
                    Self.record(events, position: .init(topic: m.topic, partition: m.partition, offset: m.offset), topics: topics,
                                in: &batch, scratch: &scratch)
                case .accepted(let events) where events.isEmpty:
                    summary.unchanged += 1
                case .accepted(let events):
                    changed = true
                    for e in events {
                        switch e.payload {
                        case .recommendationIssued, .recommendationRevised: summary.recommendations += 1
                        case .taskRequested, .taskChanged: summary.tasks += 1
                        default: break
                        }
                    }
                    Self.record(events, position: .init(topic: m.topic, partition: m.partition, offset: m.offset), topics: topics,
                                in: &batch, scratch: &scratch)
                    summary.applied += 1
                }
            }
        }
        return Outcome(batch: batch, states: working, summary: summary)
    }
}

extension BatchDecider {
    /// Adds decided domain events to `batch` with the messages they publish,
    /// so that one commit stores both: the events (``StoreBatch/record(_:position:)``),
    /// then each event's messages in publication order (``Projection``: a
    /// recommendation or task revision on its own topic, then the event on the
    /// audit topic).
    /// - Parameters:
    ///   - events: consecutive domain events of one patient.
    ///   - position: where the input behind them was read, if anywhere.
    ///   - topics: the output topic names.
    ///   - batch: the batch being built.
    public static func record(_ events: [DomainEvent], position: StoreBatch.InputPosition?, topics: TopicNames,
                              in batch: inout StoreBatch) {
        var scratch = JSONWriter(capacity: 4096)
        record(events, position: position, topics: topics, in: &batch, scratch: &scratch)
    }

    /// ``record(_:position:topics:in:)`` with a writer reused across calls
    /// (its contents are replaced).
    static func record(_ events: [DomainEvent], position: StoreBatch.InputPosition?, topics: TopicNames,
                       in batch: inout StoreBatch, scratch: inout JSONWriter) {
        batch.record(events, position: position)
        var messages: [OutputMessage] = []
        messages.reserveCapacity(events.count + 1)
        for event in events { Projection.append(event, topics: topics, scratch: &scratch, into: &messages) }
        batch.publish(contentsOf: messages)
    }
}
