import CarepathRuntime
import CarepathStore
import Kafka
import Pathway
import Testing

/// Unit tests of ``TimerScheduler/announcement(of:inputTopic:)``: the
/// `timer.fired` input it produces, and that the runtime honours it.
@Suite("TimerScheduler.announcement: the timer.fired input of a due timer")
struct TimerAnnouncementUnitTests {
    static let due = Timestamp(rfc3339: "2024-05-06T07:08:09.123Z")!
    static let timer = StoredTimer(timer: ScheduledTimer(id: "P-7/day-90-review/1", code: .day90Review, dueAt: due),
                                   patientId: "P-7")

    @Test("the announcement goes to the partition the patient's inputs came from, when the store knows it")
    func partition() {
        var timer = Self.timer
        timer.inputPartition = 5
        #expect(TimerScheduler.announcement(of: timer, inputTopic: "clinical.events").partition == 5)
    }

    @Test("the announcement is a valid timer.fired input naming the timer, keyed by the patient, on the input topic")
    func announcement() throws {
        // When a timer is announced
        let message = TimerScheduler.announcement(of: Self.timer, inputTopic: "custom.input")

        // Then it goes to the input topic, keyed by the patient, as a structured CloudEvent
        // (content-type application/cloudevents+json) with the timer id as carepath-id
        #expect(message.topic == "custom.input")
        #expect(message.key == Array("P-7".utf8))
        #expect(message.partition == nil)
        #expect(message.headers == [KafkaHeader("content-type", "application/cloudevents+json"), KafkaHeader("carepath-id", "P-7/day-90-review/1")])

        // and the input format that reads clinical.events reads it as the timer.fired event of that timer
        let decoded = InputFormat.decode(InputRecord(KafkaMessage(
            topic: message.topic, partition: 0, offset: 0, key: message.key.map { ArraySlice($0) }, value: ArraySlice(message.value),
            headers: message.headers)))
        #expect(decoded.format == .structured)
        guard case .event(let event) = decoded.outcome else {
            Issue.record("the announcement does not decode: \(String(decoding: message.value, as: UTF8.self))")
            return
        }
        #expect(event.type == .timerFired)
        #expect(event.id == "P-7/day-90-review/1")
        #expect(event.source == "urn:carepath:timer")
        #expect(event.source == TimerScheduler.source)
        #expect(event.subject == "P-7")
        #expect(event.time == Self.due)
        #expect(event.data == .timerFired(TimerFiring(timerId: "P-7/day-90-review/1", timerCode: .day90Review)))
    }

    @Test("each timer code is announced with its own code", arguments: TimerCode.allCases)
    func everyCode(code: TimerCode) throws {
        let stored = StoredTimer(timer: ScheduledTimer(id: "P-1/\(code.rawValue)/2", code: code, dueAt: Self.due), patientId: "P-1")
        let message = TimerScheduler.announcement(of: stored, inputTopic: "clinical.events")
        guard case .event(let event) = InputDecoder.outcome(of: message.value) else {
            Issue.record("the announcement of \(code) does not decode")
            return
        }
        #expect(event.data == .timerFired(TimerFiring(timerId: "P-1/\(code.rawValue)/2", timerCode: code)))
    }

    @Test("announcing the same timer twice gives the same bytes")
    func stable() {
        let a = TimerScheduler.announcement(of: Self.timer, inputTopic: "clinical.events")
        let b = TimerScheduler.announcement(of: Self.timer, inputTopic: "clinical.events")
        #expect(a == b)
    }

    @Test("consumed back, an announcement fires the patient's pending timer once; a second changes nothing")
    func honoured() throws {
        // Given a patient in conservative care, with timers scheduled
        let topics = TopicNames.standard
        let decider = BatchDecider(ruleset: .standard, topics: topics)
        let receivedAt = Timestamp(rfc3339: "2024-12-01T00:00:00Z")!
        let history = conservativeCareHistory(patient: "P-7", start: Timestamp(rfc3339: "2024-03-04T10:00:00Z")!)
        let first = decider.decide(BatchDecider.decode(history.enumerated().map {
            KafkaMessage(topic: topics.input, partition: 0, offset: Int64($0.offset), key: ArraySlice("P-7".utf8), value: ArraySlice($0.element))
        }), states: [:], receivedAt: receivedAt)
        let scheduled = first.batch.timersScheduled
        let earliest = try #require(scheduled.min { $0.timer.dueAt < $1.timer.dueAt })
        let state = try #require(first.states["P-7"])
        #expect(state.pendingTimers[earliest.timer.id] != nil)

        // When its announcement is consumed, twice
        let announcement = TimerScheduler.announcement(of: earliest, inputTopic: topics.input)
        func consumed(_ offset: Int64) -> KafkaMessage {
            KafkaMessage(topic: announcement.topic, partition: 0, offset: offset, key: announcement.key.map { ArraySlice($0) },
                         value: ArraySlice(announcement.value), headers: announcement.headers)
        }
        let outcome = decider.decide(BatchDecider.decode([consumed(3), consumed(4)]), states: ["P-7": state], receivedAt: receivedAt)

        // Then the timer fires once, and the second announcement changes nothing
        #expect(outcome.summary.applied == 1)
        #expect(outcome.summary.unchanged == 1)
        #expect(outcome.summary.deadLettered.isEmpty)
        #expect(outcome.batch.timersEnded.contains(earliest.timer.id))
        let events = try #require(outcome.batch.appends.first).events
        #expect(events.contains { if case .timerFired(let t) = $0.payload { t.id == earliest.timer.id } else { false } })
        #expect(outcome.states["P-7"]?.pendingTimers[earliest.timer.id] == nil)
        // and timer announcements are not recorded as processed clinical inputs
        #expect(outcome.batch.processed.isEmpty)
    }
}
