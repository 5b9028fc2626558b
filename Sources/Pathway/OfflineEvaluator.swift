import CarepathJSON

/// `carepath evaluate` without the file: applies the pathway to input events in
/// order, keeps each patient's state, and returns exactly the messages carepath
/// would publish (PATHWAY.md section 9). Pure: bytes in, messages out.
public struct OfflineEvaluator: Sendable {
    public let ruleset: Ruleset
    public let topics: TopicNames
    /// Each patient's state, by patient id.
    public private(set) var patients: [String: PatientState] = [:]
    /// Each patient's domain events, when ``keepStreams`` is set.
    public private(set) var streams: [String: [DomainEvent]] = [:]
    /// The latest `time` of an event that changed something: the default `--until`.
    public private(set) var latestAcceptedTime: Timestamp?
    public let keepStreams: Bool
    /// Reused for writing output messages.
    private var scratch = JSONWriter(capacity: 4096)

    public init(ruleset: Ruleset = .standard, topics: TopicNames = .standard, keepStreams: Bool = false) {
        self.ruleset = ruleset
        self.topics = topics
        self.keepStreams = keepStreams
    }

    /// Applies one input line.
    /// - Parameters:
    ///   - bytes: one CloudEvent, as read.
    ///   - lineNumber: its 0-based line number (the dead letter's `offset`).
    ///   - messages: where the messages it yields are appended.
    public mutating func process(_ bytes: [UInt8], lineNumber: Int, into messages: inout [OutputMessage]) {
        process(bytes, lineNumber: lineNumber, to: &messages)
    }

    /// ``process(_:lineNumber:into:)`` with the output going to any sink.
    mutating func process(_ bytes: [UInt8], lineNumber: Int, to messages: inout some OutputSink) {
        process(InputLine(lineNumber: lineNumber, bytes: bytes), to: &messages)
    }

    /// Applies one input decoded already: a line, or a record read from a topic
    /// (``InputLine/init(lineNumber:record:)``).
    /// - Parameters:
    ///   - line: the decoded input.
    ///   - messages: where the messages it yields are appended.
    public mutating func process(_ line: InputLine, into messages: inout [OutputMessage]) {
        process(line, to: &messages)
    }

    /// Applies one input line decoded already.
    mutating func process(_ line: InputLine, to messages: inout some OutputSink) {
        let bytes = line.bytes, lineNumber = line.lineNumber
        func deadLetter(_ rejection: Rejection, key: String?, id: String?) {
            self.deadLetter(line.input.located(rejection), bytes: bytes, lineNumber: lineNumber, key: key, id: id,
                            headers: line.input.eventHeaders, into: &messages)
        }
        switch line.outcome {
        case .rejected(let rejection, let subject, let id):
            deadLetter(rejection, key: subject, id: id)
        case .event(let event):
            // Decided on the stored state in place: a new patient gets an entry
            // that is dropped again unless the event is accepted and changes something.
            let decision = Pathway.decide(.apply(event), evolving: &patients[event.subject, default: .initial(patientId: event.subject)],
                                          ruleset: ruleset)
            switch decision {
            case .rejected(let rejection):
                dropIfNew(event.subject)
                deadLetter(rejection, key: event.subject, id: event.id)
            case .accepted(let events):
                guard !events.isEmpty else {
                    dropIfNew(event.subject)
                    return
                }
                latestAcceptedTime = max(latestAcceptedTime ?? event.time, event.time)
                publish(events, patientId: event.subject, into: &messages)
            case .conflicting(let rejection, let events):
                deadLetter(rejection, key: event.subject, id: event.id)
                publish(events, patientId: event.subject, into: &messages)
            }
        }
    }

    /// Removes the entry of a patient with no domain events (one that
    /// ``process(_:lineNumber:into:)`` added for a refused or no-op input).
    private mutating func dropIfNew(_ patientId: String) {
        if patients[patientId]?.version == 0 { patients[patientId] = nil }
    }

    /// Fires every timer due up to `until`, in order of due time, then patient
    /// id, then scheduling order (PATHWAY.md section 7).
    /// - Parameters:
    ///   - until: the end of the evaluation; by default ``latestAcceptedTime``.
    ///   - messages: where the messages the timers yield are appended.
    public mutating func finish(until: Timestamp?, into messages: inout [OutputMessage]) {
        finish(until: until, to: &messages)
    }

    /// ``finish(until:into:)`` with the output going to any sink.
    mutating func finish(until: Timestamp?, to messages: inout some OutputSink) {
        guard let until = until ?? latestAcceptedTime else { return }
        var queue = TimerQueue()
        var queued = Set<String>()
        func enqueue(_ state: PatientState) {
            for pending in state.pendingTimers.values where pending.timer.dueAt <= until && !queued.contains(pending.timer.id) {
                queued.insert(pending.timer.id)
                queue.push(TimerQueue.Entry(dueAt: pending.timer.dueAt, patientId: state.patientId,
                                            scheduledAtVersion: pending.scheduledAtVersion, timerId: pending.timer.id))
            }
        }
        for state in patients.values { enqueue(state) }
        while let next = queue.pop() {
            guard patients[next.patientId]?.pendingTimers[next.timerId] != nil,
                  case .accepted(let events) = Pathway.decide(.fireTimer(id: next.timerId), evolving: &patients[next.patientId]!,
                                                              ruleset: ruleset)
            else { continue }
            publish(events, patientId: next.patientId, into: &messages)
            if let after = patients[next.patientId] { enqueue(after) }
        }
    }

    /// Appends the messages of a patient's new domain events (already folded into its state).
    private mutating func publish(_ events: [DomainEvent], patientId: String, into messages: inout some OutputSink) {
        for event in events {
            messages.publish(event, topics: topics, scratch: &scratch)
        }
        if keepStreams { streams[patientId, default: []].append(contentsOf: events) }
    }

    private func deadLetter(_ rejection: Rejection, bytes: [UInt8], lineNumber: Int, key: String?, id: String?,
                            headers: [InputRecord.Header], into messages: inout some OutputSink) {
        let letter = DeadLetter(rejection: rejection, bytes: bytes, topic: topics.input, partition: nil,
                                offset: Int64(lineNumber), key: key, receivedAt: nil, inputId: id, headers: headers)
        messages.publish(letter.message(topics: topics))
    }

    /// Evaluates a whole JSONL document.
    /// - Parameters:
    ///   - jsonl: input events, one a line; blank lines are skipped (but counted).
    ///   - until: fire timers due up to this time; by default the latest accepted event's time.
    ///   - ruleset: the thresholds.
    /// - Returns: the messages, in publication order.
    public static func evaluate(jsonl: [UInt8], until: Timestamp? = nil, ruleset: Ruleset = .standard,
                                topics: TopicNames = .standard) -> [OutputMessage] {
        var evaluator = OfflineEvaluator(ruleset: ruleset, topics: topics)
        var messages: [OutputMessage] = []
        for (n, line) in Lines(jsonl).enumerated() where !Lines.isBlank(line) {
            evaluator.process(Array(line), lineNumber: n, into: &messages)
        }
        evaluator.finish(until: until, into: &messages)
        return messages
    }

    /// Evaluates a whole JSONL document and hands the output on as it goes,
    /// as JSONL in chunks of about `chunkSize` bytes: what `carepath evaluate`
    /// prints, without holding every message in memory.
    /// - Parameters:
    ///   - jsonl: input events, one a line; blank lines are skipped (but counted).
    ///   - until: fire timers due up to this time; by default the latest accepted event's time.
    ///   - ruleset: the thresholds.
    ///   - chunkSize: how many bytes are gathered before `write` is called.
    ///   - write: receives the output, in order; the same bytes as
    ///     ``jsonl(_:)`` of ``evaluate(jsonl:until:ruleset:topics:)``.
    /// - Returns: how many messages were written.
    @discardableResult
    public static func evaluate(jsonl: [UInt8], until: Timestamp? = nil, ruleset: Ruleset = .standard,
                                topics: TopicNames = .standard, chunkSize: Int = 1 << 20,
                                write: ([UInt8]) -> Void) -> Int {
        var evaluator = OfflineEvaluator(ruleset: ruleset, topics: topics)
        let lines = Lines(jsonl).enumerated().lazy
            .filter { !Lines.isBlank($0.element) }
            .map { InputLine(lineNumber: $0.offset, bytes: Array($0.element)) }
        return evaluator.evaluate(lines, until: until, chunkSize: chunkSize, write: write)
    }

    /// Evaluates input lines decoded already (by ``InputLine/init(lineNumber:bytes:)``,
    /// possibly on another thread: decoding needs no patient state) and hands the
    /// output on as it goes, as JSONL in chunks of about `chunkSize` bytes.
    ///
    /// The output depends only on the lines and their order, never on where or
    /// when they were decoded.
    /// - Parameters:
    ///   - lines: the input, in file order, blank lines left out.
    ///   - until: fire timers due up to this time; by default the latest accepted event's time.
    ///   - chunkSize: how many bytes are gathered before `write` is called.
    ///   - write: receives the output, in order; it owns each chunk it is given.
    /// - Returns: how many messages were written.
    @discardableResult
    public mutating func evaluate(_ lines: some Sequence<InputLine>, until: Timestamp? = nil, chunkSize: Int = 1 << 20,
                                  write: ([UInt8]) -> Void) -> Int {
        var sink = JSONLinesSink(capacity: chunkSize + 64 * 1024)
        func drain(_ final: Bool) {
            if sink.writer.bytes.count >= chunkSize || (final && !sink.writer.bytes.isEmpty) {
                write(sink.writer.bytes)
                sink.writer.bytes.removeAll(keepingCapacity: true)
            }
        }
        for line in lines {
            process(line, to: &sink)
            drain(false)
        }
        finish(until: until, to: &sink)
        drain(true)
        return sink.count
    }

    /// Writes messages as `evaluate` prints them, one JSON object a line.
    public static func jsonl(_ messages: [OutputMessage]) -> [UInt8] {
        var w = JSONWriter(capacity: messages.count * 1024)
        for m in messages {
            m.writeLine(to: &w)
            w.raw(CollectionOfOne(UInt8(ascii: "\n")))
        }
        return w.bytes
    }
}

/// Where ``OfflineEvaluator`` puts the messages it publishes, in order.
protocol OutputSink {
    /// The messages of a domain event already folded into its patient's state.
    /// - Parameter scratch: a writer the sink may use; its contents are replaced.
    mutating func publish(_ event: DomainEvent, topics: TopicNames, scratch: inout JSONWriter)
    /// A message built already (a dead letter).
    mutating func publish(_ message: OutputMessage)
}

extension Array: OutputSink where Element == OutputMessage {
    mutating func publish(_ event: DomainEvent, topics: TopicNames, scratch: inout JSONWriter) {
        Projection.append(event, topics: topics, scratch: &scratch, into: &self)
    }

    mutating func publish(_ message: OutputMessage) { append(message) }
}

/// The output as `carepath evaluate` prints it, one JSON object a line,
/// written straight into one buffer: no message is built on the way.
struct JSONLinesSink: OutputSink {
    var writer: JSONWriter
    /// How many lines (messages) were written.
    private(set) var count = 0

    init(capacity: Int) { writer = JSONWriter(capacity: capacity) }

    mutating func publish(_ event: DomainEvent, topics: TopicNames, scratch: inout JSONWriter) {
        count += Projection.writeLines(event, topics: topics, scratch: &scratch, to: &writer)
    }

    mutating func publish(_ message: OutputMessage) {
        message.writeLine(to: &writer)
        writer.raw(CollectionOfOne(UInt8(ascii: "\n")))
        count += 1
    }
}

/// One line of input with its decoding: the unit ``OfflineEvaluator`` works on.
///
/// Decoding reads no patient state, so lines can be decoded ahead, on another
/// thread, while earlier ones are decided.
public struct InputLine: Sendable {
    /// The 0-based line number (the dead letter's `offset`).
    public let lineNumber: Int
    /// The line as read (a dead letter quotes it).
    public let bytes: [UInt8]
    /// Its format, the validated event or the reason it is refused, and the
    /// headers a dead letter keeps (a line of a file has none).
    public let input: DecodedInput

    /// The validated event or the reason it is refused.
    public var outcome: InputDecoder.Outcome { input.outcome }

    /// Decodes one line: a record with no headers and no key.
    /// - Parameters:
    ///   - lineNumber: its 0-based line number in the file.
    ///   - bytes: the line without its `\n`.
    public init(lineNumber: Int, bytes: [UInt8]) {
        self.init(lineNumber: lineNumber, record: InputRecord(
            bytes: bytes, position: InputRecord.Position(topic: TopicNames.standard.input, partition: nil, offset: Int64(lineNumber))))
    }

    /// Decodes a record in the format its headers choose (``InputFormat/decode(_:)``).
    /// - Parameters:
    ///   - lineNumber: its place in the input (offline, the dead letter's `offset`).
    ///   - record: the record, e.g. a message read back from the input topic.
    public init(lineNumber: Int, record: InputRecord) {
        self.lineNumber = lineNumber
        self.bytes = record.bytes
        self.input = InputFormat.decode(record)
    }
}

/// The lines of a byte buffer (without their `\n`); a final empty line is not one.
public struct Lines: Sequence {
    let bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public func makeIterator() -> Iterator { Iterator(bytes: bytes) }

    /// Whether a line holds only spaces, tabs and carriage returns: such a line
    /// is skipped (but counted).
    public static func isBlank(_ line: ArraySlice<UInt8>) -> Bool {
        line.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
    }

    /// The next line each time, without its `\n`.
    public struct Iterator: IteratorProtocol {
        let bytes: [UInt8]
        var start = 0

        public mutating func next() -> ArraySlice<UInt8>? {
            guard start < bytes.count else { return nil }
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            defer { start = end + 1 }
            return bytes[start..<end]
        }
    }
}

/// A min-heap of timers by (due time, patient id, scheduling order).
struct TimerQueue {
    struct Entry: Comparable {
        var dueAt: Timestamp
        var patientId: String
        var scheduledAtVersion: Int
        var timerId: String

        static func < (a: Entry, b: Entry) -> Bool {
            (a.dueAt, a.patientId, a.scheduledAtVersion) < (b.dueAt, b.patientId, b.scheduledAtVersion)
        }
    }

    private var heap: [Entry] = []

    mutating func push(_ entry: Entry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child] < heap[parent] else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Entry? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count, heap[left] < heap[smallest] { smallest = left }
            if right < heap.count, heap[right] < heap[smallest] { smallest = right }
            guard smallest != parent else { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}
