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
        var scratch = JSONWriter(capacity: 2048)
        append(event, topics: topics, scratch: &scratch, into: &out)
        return out
    }

    /// Appends the messages for one domain event, in publication order, to `out`:
    /// the same messages as ``messages(for:topics:)``.
    ///
    /// A recommendation or task is written once; its bytes are both its own
    /// message's value and the middle of its audit entry. Each value is copied
    /// out of `scratch` at its exact size, so retained messages carry no slack.
    /// - Parameters:
    ///   - scratch: a writer to reuse across calls; its contents are replaced.
    ///   - out: where the messages are appended.
    public static func append(_ event: DomainEvent, topics: TopicNames = .standard, scratch: inout JSONWriter,
                              into out: inout [OutputMessage]) {
        let cause = event.causationEventId
        var resource: [UInt8]?
        switch event.payload {
        case .recommendationIssued(let rec), .recommendationRevised(let rec):
            scratch.bytes.removeAll(keepingCapacity: true)
            rec.write(to: &scratch)
            let value = scratch.exactBytes
            resource = value
            out.append(OutputMessage(topic: topics.recommendations, key: event.patientId, value: value,
                                     carepathId: rec.id + "/" + String(rec.revision), causationId: cause))
        case .taskRequested(let task), .taskChanged(let task):
            scratch.bytes.removeAll(keepingCapacity: true)
            task.write(to: &scratch)
            let value = scratch.exactBytes
            resource = value
            out.append(OutputMessage(topic: topics.tasks, key: event.patientId, value: value,
                                     carepathId: task.id + "/" + String(task.version), causationId: cause))
        default:
            break
        }
        scratch.bytes.removeAll(keepingCapacity: true)
        event.write(to: &scratch, resource: resource)
        out.append(OutputMessage(topic: topics.domainEvents, key: event.patientId, value: scratch.exactBytes,
                                 carepathId: event.messageId, causationId: cause))
    }

    /// Writes the lines `carepath evaluate` prints for one domain event: the
    /// same bytes as ``OutputMessage/writeLine(to:)`` and a `\n` for each of
    /// the messages ``append(_:topics:scratch:into:)`` would append, written
    /// straight into `w` rather than copied out as values first.
    /// - Parameters:
    ///   - scratch: a writer to reuse across calls; holds a recommendation or
    ///     task while it goes into both of its lines.
    ///   - w: where the lines are appended.
    /// - Returns: how many lines were written (1 or 2).
    static func writeLines(_ event: DomainEvent, topics: TopicNames, scratch: inout JSONWriter,
                           to w: inout JSONWriter) -> Int {
        // A recommendation or task is written once, into `scratch`, for both lines.
        let resourceTopic: String?
        switch event.payload {
        case .recommendationIssued(let rec), .recommendationRevised(let rec):
            scratch.bytes.removeAll(keepingCapacity: true)
            rec.write(to: &scratch)
            resourceTopic = topics.recommendations
        case .taskRequested(let task), .taskChanged(let task):
            scratch.bytes.removeAll(keepingCapacity: true)
            task.write(to: &scratch)
            resourceTopic = topics.tasks
        default:
            resourceTopic = nil
        }
        if let resourceTopic {
            writeLine(topic: resourceTopic, key: event.patientId, to: &w) { $0.raw(scratch.bytes) }
        }
        let resource = resourceTopic == nil ? nil : scratch.bytes
        writeLine(topic: topics.domainEvents, key: event.patientId, to: &w) { event.write(to: &$0, resource: resource) }
        return resourceTopic == nil ? 1 : 2
    }

    /// `{"topic":…,"key":…,"value":…}` and `\n`, the value written by `value`.
    private static func writeLine(topic: String, key: String, to w: inout JSONWriter, value: (inout JSONWriter) -> Void) {
        w.object { o in
            o.field("topic", topic)
            o.field("key", key)
            o.field("value", value)
        }
        w.raw(CollectionOfOne(UInt8(ascii: "\n")))
    }
}
