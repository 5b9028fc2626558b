import CarepathRuntime
import CarepathStore
import Pathway
import Testing

/// ``TimerSchedulerStateMachine``, synchronously: which due timers a pass
/// announces, which it marks, when failed ones are tried again, and shutdown.
@Suite("TimerSchedulerStateMachine: passes, partial failures, retry timing and shutdown without a store or Kafka")
struct TimerSchedulerStateMachineTests {
    static let t0 = Timestamp(millisecondsSinceEpoch: 1_700_000_000_000)

    static func at(_ milliseconds: Int64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: t0.millisecondsSinceEpoch + milliseconds)
    }

    static func timers(_ numbers: ClosedRange<Int>) -> [StoredTimer] {
        numbers.map { n in
            StoredTimer(timer: ScheduledTimer(id: "P-\(n)/day-90-review/1", code: .day90Review, dueAt: t0), patientId: "P-\(n)")
        }
    }

    @Test("a pass reads what is due by its start, announces it, marks every delivered timer, and reads on while batches come back full")
    func success() throws {
        var machine = TimerSchedulerStateMachine(batchSize: 2, retryIntervalMilliseconds: 1_000)
        #expect(machine.passStarted(now: Self.t0) == .readDue(dueBy: Self.t0, limit: 2))
        #expect(machine.dueTimersRead(Self.timers(1...2)) == .announce(Self.timers(1...2)))
        let first = machine.announcementsReported([.delivered, .delivered])
        #expect(first.announced == ["P-1/day-90-review/1", "P-2/day-90-review/1"])
        #expect(first.failed.isEmpty)
        // A full batch: there may be more.
        #expect(first.next == .readDue(dueBy: Self.t0, limit: 2))
        #expect(machine.dueTimersRead(Self.timers(3...3)) == .announce(Self.timers(3...3)))
        let second = machine.announcementsReported([.delivered])
        #expect(second.next == .finishPass(announced: 3))
        #expect(machine.passTime == Self.t0)
    }

    @Test("nothing due: the pass ends at once")
    func nothingDue() {
        var machine = TimerSchedulerStateMachine(retryIntervalMilliseconds: 1_000)
        _ = machine.passStarted(now: Self.t0)
        #expect(machine.dueTimersRead([]) == .finishPass(announced: 0))
    }

    @Test("a partial failure: delivered timers are marked, failed ones are not, and the pass ends")
    func partialFailure() throws {
        var machine = TimerSchedulerStateMachine(batchSize: 3, retryIntervalMilliseconds: 1_000)
        _ = machine.passStarted(now: Self.t0)
        _ = machine.dueTimersRead(Self.timers(1...3))
        let outcome = machine.announcementsReported([.delivered, .failed(reason: "Local_MsgTimedOut: x"), .delivered])
        #expect(outcome.announced == ["P-1/day-90-review/1", "P-3/day-90-review/1"])
        #expect(outcome.failed.map(\.timer.patientId) == ["P-2"])
        #expect(outcome.failed.first?.reason == "Local_MsgTimedOut: x")
        // The batch was full, but a failure ends the pass: the next pass tries again.
        #expect(outcome.next == .finishPass(announced: 2))
        #expect(machine.timersAwaitingRetry == 1)
    }

    @Test("retry timing: a failed announcement is skipped by passes within the retry interval, and tried again after it")
    func retryTiming() throws {
        var machine = TimerSchedulerStateMachine(batchSize: 10, retryIntervalMilliseconds: 1_000)
        _ = machine.passStarted(now: Self.t0)
        _ = machine.dueTimersRead(Self.timers(1...2))
        _ = machine.announcementsReported([.failed(reason: "x"), .delivered])

        // A pass soon after (a commit scheduled a timer already due): P-1 waits, P-5 is new.
        _ = machine.passStarted(now: Self.at(300))
        #expect(machine.dueTimersRead(Self.timers(1...1) + Self.timers(5...5)) == .announce(Self.timers(5...5)))
        _ = machine.announcementsReported([.delivered])
        // Only P-1 due, still waiting: nothing to announce.
        _ = machine.passStarted(now: Self.at(999))
        #expect(machine.dueTimersRead(Self.timers(1...1)) == .finishPass(announced: 0))

        // After the interval it goes again, and once delivered it is no longer waiting.
        _ = machine.passStarted(now: Self.at(1_000))
        #expect(machine.dueTimersRead(Self.timers(1...1)) == .announce(Self.timers(1...1)))
        let outcome = machine.announcementsReported([.delivered])
        #expect(outcome.announced == ["P-1/day-90-review/1"])
        #expect(machine.timersAwaitingRetry == 0)
    }

    @Test("a timer that is no longer pending after its failure is forgotten once its wait is over")
    func forgotten() {
        var machine = TimerSchedulerStateMachine(retryIntervalMilliseconds: 1_000)
        _ = machine.passStarted(now: Self.t0)
        _ = machine.dueTimersRead(Self.timers(1...1))
        _ = machine.announcementsReported([.failed(reason: "x")])
        #expect(machine.timersAwaitingRetry == 1)
        // The patient's next event fired it: the store no longer returns it.
        _ = machine.passStarted(now: Self.at(5_000))
        #expect(machine.timersAwaitingRetry == 0)
    }

    @Test("shutdown: the pass in progress ends after its step, its deliveries still marked; no pass starts after")
    func shutdown() throws {
        var machine = TimerSchedulerStateMachine(batchSize: 2, retryIntervalMilliseconds: 1_000)
        _ = machine.passStarted(now: Self.t0)
        _ = machine.dueTimersRead(Self.timers(1...2))
        machine.shutdownRequested()
        let outcome = machine.announcementsReported([.delivered, .delivered])
        #expect(outcome.announced.count == 2)
        #expect(outcome.next == .finishPass(announced: 2), "a full batch must not be followed by another read after a shutdown request")
        #expect(machine.isShuttingDown)
        #expect(machine.passStarted(now: Self.at(10)) == .finishPass(announced: 0))
    }

    @Test("shutdown during a read: what was read is not announced")
    func shutdownDuringRead() {
        var machine = TimerSchedulerStateMachine(retryIntervalMilliseconds: 1_000)
        _ = machine.passStarted(now: Self.t0)
        machine.shutdownRequested()
        #expect(machine.dueTimersRead(Self.timers(1...3)) == .finishPass(announced: 0))
    }
}
