public import CarepathJSON

/// The names of carepath's topics (PATHWAY.md section 1); all configurable.
public struct TopicNames: Sendable, Hashable {
    public var input = "clinical.events"
    public var recommendations = "pathway.recommendations"
    public var tasks = "pathway.tasks"
    public var domainEvents = "pathway.events"
    public var deadLetters = "clinical.events.dlq"

    public init() {}

    public static let standard = TopicNames()
}

/// One message carepath publishes: topic, key, value and the two headers
/// every output carries (`carepath-id`, `carepath-causation-id`).
public struct OutputMessage: Sendable, Hashable {
    public var topic: String
    /// The patient id; for a dead letter, the input's key (`nil` when it had none).
    public var key: String?
    public var value: [UInt8]
    /// Unique per message and stable across re-sends: `<id>/<revision>` for
    /// recommendations and tasks, `<patientId>/<version>` for domain events.
    public var carepathId: String
    /// The input event id or timer id behind it.
    public var causationId: String

    public init(topic: String, key: String?, value: [UInt8], carepathId: String, causationId: String) {
        self.topic = topic
        self.key = key
        self.value = value
        self.carepathId = carepathId
        self.causationId = causationId
    }

    /// The line `carepath evaluate` writes: `{"topic":…,"key":…,"value":…}`.
    public func writeLine(to w: inout JSONWriter) {
        w.object { o in
            o.field("topic", topic)
            o.nullable("key", key)
            o.field("value") { $0.raw(value) }
        }
    }
}

/// Turns domain events into the messages published for them: every domain
/// event goes to the audit stream; a recommendation or task revision also
/// goes to its own topic, before its audit entry.
public enum Projection {
    /// The messages for one domain event, in publication order.
    public static func messages(for event: DomainEvent, topics: TopicNames = .standard) -> [OutputMessage] {
        var out: [OutputMessage] = []
        out.reserveCapacity(2)
        let cause = event.causationEventId
        switch event.payload {
        case .recommendationIssued(let rec), .recommendationRevised(let rec):
            var w = JSONWriter(capacity: 1536)
            rec.write(to: &w)
            out.append(OutputMessage(topic: topics.recommendations, key: event.patientId, value: w.bytes,
                                     carepathId: rec.id + "/" + String(rec.revision), causationId: cause))
        case .taskRequested(let task), .taskChanged(let task):
            var w = JSONWriter(capacity: 1024)
            task.write(to: &w)
            out.append(OutputMessage(topic: topics.tasks, key: event.patientId, value: w.bytes,
                                     carepathId: task.id + "/" + String(task.version), causationId: cause))
        default:
            break
        }
        out.append(OutputMessage(topic: topics.domainEvents, key: event.patientId, value: event.json,
                                 carepathId: event.messageId, causationId: cause))
        return out
    }
}
