import CarepathRuntime
import CarepathStore
import Pathway
import Testing

/// ``OutboxRelayStateMachine``, synchronously: where rounds come from, the
/// rounds in flight, what reports mean for the store, retry timing, drain.
@Suite("OutboxRelayStateMachine: rounds, reports, retries and drain without a store or Kafka")
struct OutboxRelayStateMachineTests {
    static let t0 = Timestamp(millisecondsSinceEpoch: 1_700_000_000_000)

    static func at(_ milliseconds: Int64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: t0.millisecondsSinceEpoch + milliseconds)
    }

    static func machine(roundSize: Int = 3, roundsInFlight: Int = 4, retryDelay: Int64 = 1_000,
                        handOverFrom: Int64? = 100) -> OutboxRelayStateMachine {
        OutboxRelayStateMachine(configuration: .init(roundSize: roundSize, roundsInFlight: roundsInFlight,
                                                     retryDelayMilliseconds: retryDelay, handOverFrom: handOverFrom))
    }

    /// Takes the next step, which must be a read of `selection`.
    static func expectRead(_ machine: inout OutboxRelayStateMachine, _ selection: OutboxSelection, now: Timestamp = t0,
                           sourceLocation: SourceLocation = #_sourceLocation) -> OutboxRelayStateMachine.Read? {
        let step = machine.nextStep(now: now)
        guard case .read(let read) = step, read.selection == selection else {
            Issue.record("expected a read of \(selection), got \(step)", sourceLocation: sourceLocation)
            return nil
        }
        return read
    }

    /// Takes the next step, which must be a round.
    static func expectRound(_ machine: inout OutboxRelayStateMachine, now: Timestamp = t0,
                            sourceLocation: SourceLocation = #_sourceLocation) -> OutboxRelayStateMachine.Round? {
        let step = machine.nextStep(now: now)
        guard case .send(let round) = step else {
            Issue.record("expected a round, got \(step)", sourceLocation: sourceLocation)
            return nil
        }
        return round
    }

    /// Answers the first wake's retry check: nothing waits.
    static func noRetriesWaiting(_ machine: inout OutboxRelayStateMachine, now: Timestamp = t0) {
        guard let read = expectRead(&machine, .retries, now: now) else { return }
        guard case .countRetries(let count)? = machine.rowsRead([], for: read) else {
            Issue.record("an empty retry read should ask for a count")
            return
        }
        machine.retriesAwaiting(0, for: count)
    }

    @Test("with hand-over: rows left from before go first, read from the store until a short read; then handed-over rows from memory, in order")
    func leftoversThenHandedOver() throws {
        var machine = Self.machine()
        machine.accept(outboxRows(100...104))
        machine.wake()

        let first = try #require(Self.expectRead(&machine, .before(100)))
        #expect(first.limit == 3)
        #expect(first.excluding == nil)
        #expect(machine.rowsRead(outboxRows(1...3), for: first) == nil)
        let round1 = try #require(Self.expectRound(&machine))
        #expect(round1.rows.map(\.sequence) == [1, 2, 3])

        // The next read leaves out the round in flight.
        let second = try #require(Self.expectRead(&machine, .before(100)))
        #expect(second.excluding == 1...3)
        #expect(machine.rowsRead(outboxRows(4...4), for: second) == nil)
        #expect(try #require(Self.expectRound(&machine)).rows.map(\.sequence) == [4])

        // A short read: no more leftovers. Then, at this first wake, one retry check.
        Self.noRetriesWaiting(&machine)
        #expect(try #require(Self.expectRound(&machine)).rows.map(\.sequence) == [100, 101, 102])
        #expect(try #require(Self.expectRound(&machine)).rows.map(\.sequence) == [103, 104])
        #expect(machine.nextStep(now: Self.t0) == .wait(refreshBacklog: false))
        #expect(machine.rowsWaitingInMemory == 0)

        // Four rounds await their acknowledgements: the limit.
        #expect(machine.roundsAwaitingAcknowledgement == 4)
        machine.accept(outboxRows(105...105))
        #expect(machine.nextStep(now: Self.t0) == .wait(refreshBacklog: false))
        for id in 1...4 {
            machine.roundAcknowledged(id)
            machine.roundRecorded(id)
        }

        // Later wakes read no leftovers and, with no failure seen, no retries.
        #expect(try #require(Self.expectRound(&machine)).rows.map(\.sequence) == [105])
    }

    @Test("a wake that starts no round asks for the backlog figure; one that does leaves it to the rounds")
    func backlogRefresh() throws {
        var machine = Self.machine(handOverFrom: 1)
        machine.wake()
        let read = try #require(Self.expectRead(&machine, .before(1)))
        #expect(machine.rowsRead([], for: read) == nil)
        Self.noRetriesWaiting(&machine)
        #expect(machine.nextStep(now: Self.t0) == .wait(refreshBacklog: true))
        machine.wake()
        machine.accept(outboxRows(1...2))
        _ = try #require(Self.expectRound(&machine))
        #expect(machine.nextStep(now: Self.t0) == .wait(refreshBacklog: false))
    }

    @Test("at most roundsInFlight rounds await acknowledgement; an acknowledged round stops counting but stays excluded from reads until recorded")
    func roundsInFlight() throws {
        var machine = Self.machine(roundSize: 2, roundsInFlight: 2, handOverFrom: 10)
        machine.wake()
        let leftovers = try #require(Self.expectRead(&machine, .before(10)))
        _ = machine.rowsRead([], for: leftovers)
        Self.noRetriesWaiting(&machine)
        machine.accept(outboxRows(10...15))
        let a = try #require(Self.expectRound(&machine))
        let b = try #require(Self.expectRound(&machine))
        #expect(machine.roundsAwaitingAcknowledgement == 2)
        #expect(machine.nextStep(now: Self.t0) == .wait(refreshBacklog: false))

        // Acknowledged: the next round may go while the first is recorded.
        machine.roundAcknowledged(a.id)
        machine.wake()
        let c = try #require(Self.expectRound(&machine))
        #expect(c.rows.map(\.sequence) == [14, 15])
        #expect(machine.roundsNotRecorded == 3)
        machine.roundRecorded(a.id)
        machine.roundAcknowledged(b.id)
        machine.roundRecorded(b.id)
        #expect(machine.roundsNotRecorded == 1)
        #expect(machine.roundsAwaitingAcknowledgement == 1)
    }

    @Test("a round's reports: delivered rows are marked published, failed ones failed, due again after the retry delay")
    func partialFailure() {
        let machine = Self.machine(retryDelay: 5_000)
        let rows = outboxRows(7...10)
        let recording = machine.recording(of: [.delivered, .failed(reason: "Local_MsgTimedOut: x"), .delivered, .failed(reason: "y")],
                                          for: rows, now: Self.at(250))
        #expect(recording.published == [7, 9])
        #expect(recording.failed == [OutboxFailure(sequence: 8, reason: "Local_MsgTimedOut: x"), OutboxFailure(sequence: 10, reason: "y")])
        #expect(recording.retryAt == Self.at(5_250))
    }

    @Test("retry timing: after a failure, retries are not read before they are due; then once per wake until none await")
    func retryTiming() throws {
        var machine = Self.machine(retryDelay: 1_000, handOverFrom: 1)
        machine.wake()
        _ = machine.rowsRead([], for: try #require(Self.expectRead(&machine, .before(1))))
        Self.noRetriesWaiting(&machine)
        machine.accept(outboxRows(1...3))
        let round = try #require(Self.expectRound(&machine))
        machine.roundAcknowledged(round.id)
        let recording = machine.recording(of: [.delivered, .failed(reason: "boom"), .delivered], for: round.rows, now: Self.at(100))
        machine.failuresRecorded(recording)
        machine.roundRecorded(round.id)

        // Before the retry is due: no read, however often the relay wakes.
        for now in [Self.at(100), Self.at(600), Self.at(1_099)] {
            machine.wake()
            #expect(machine.nextStep(now: now) == .wait(refreshBacklog: true), "read retries at \(now)")
        }
        // Due: one retry read per wake.
        machine.wake()
        let retry = try #require(Self.expectRead(&machine, .retries, now: Self.at(1_100)))
        #expect(retry.now == Self.at(1_100))
        #expect(machine.rowsRead([outboxRows(2...2)[0]], for: retry) == nil)
        let again = try #require(Self.expectRound(&machine, now: Self.at(1_100)))
        #expect(again.rows.map(\.sequence) == [2])
        #expect(machine.nextStep(now: Self.at(1_100)) == .wait(refreshBacklog: false))
        machine.roundAcknowledged(again.id)
        machine.failuresRecorded(machine.recording(of: [.delivered], for: again.rows, now: Self.at(1_150)))
        machine.roundRecorded(again.id)

        // The next wake looks again, finds none, counts none: retries are over.
        machine.wake()
        Self.noRetriesWaiting(&machine, now: Self.at(1_200))
        machine.wake()
        #expect(machine.nextStep(now: Self.at(60_000)) == .wait(refreshBacklog: true))
    }

    @Test("rows still awaiting a retry after an empty read are looked for at every wake")
    func retriesNotYetDue() throws {
        var machine = Self.machine(handOverFrom: 1)
        machine.wake()
        _ = machine.rowsRead([], for: try #require(Self.expectRead(&machine, .before(1))))
        // A previous run left rows whose retry is not due yet.
        let check = try #require(Self.expectRead(&machine, .retries))
        guard case .countRetries(let count)? = machine.rowsRead([], for: check) else {
            Issue.record("no count asked for")
            return
        }
        machine.retriesAwaiting(3, for: count)
        for wake in 1...3 {
            machine.wake()
            _ = try #require(Self.expectRead(&machine, .retries, now: Self.at(Int64(wake) * 250)))
        }
    }

    @Test("a failure recorded while a retry check was under way is not forgotten")
    func failureDuringCheck() throws {
        var machine = Self.machine(retryDelay: 0, handOverFrom: 1)
        machine.wake()
        _ = machine.rowsRead([], for: try #require(Self.expectRead(&machine, .before(1))))
        let check = try #require(Self.expectRead(&machine, .retries))
        // Meanwhile a round fails and is recorded.
        machine.failuresRecorded(.init(published: [], failed: [OutboxFailure(sequence: 9, reason: "x")], retryAt: Self.t0))
        guard case .countRetries(let count)? = machine.rowsRead([], for: check) else {
            Issue.record("no count asked for")
            return
        }
        // The count was taken before the failure reached the store: it says none.
        machine.retriesAwaiting(0, for: count)
        machine.wake()
        _ = try #require(Self.expectRead(&machine, .retries, now: Self.at(1)))
    }

    @Test("without hand-over, every round is read from the store until a read comes back empty")
    func withoutHandOver() throws {
        var machine = Self.machine(roundSize: 2, handOverFrom: nil)
        machine.accept(outboxRows(1...2))  // ignored: the store has them
        #expect(machine.rowsWaitingInMemory == 0)
        machine.wake()
        let read = try #require(Self.expectRead(&machine, .all))
        #expect(machine.rowsRead(outboxRows(1...2), for: read) == nil)
        _ = try #require(Self.expectRound(&machine))
        let next = try #require(Self.expectRead(&machine, .all))
        #expect(next.excluding == 1...2)
        #expect(machine.rowsRead([], for: next) == nil)
        #expect(machine.nextStep(now: Self.t0) == .wait(refreshBacklog: false))
    }

    @Test("drain: no round starts, rows in memory are left to the store, rounds in flight are waited for, then due rows go round after round")
    func drain() throws {
        var machine = Self.machine(roundSize: 2, handOverFrom: 1)
        machine.wake()
        _ = machine.rowsRead([], for: try #require(Self.expectRead(&machine, .before(1))))
        Self.noRetriesWaiting(&machine)
        machine.accept(outboxRows(1...5))
        let inFlight = try #require(Self.expectRound(&machine))

        machine.beginDrain()
        #expect(machine.rowsWaitingInMemory == 0)
        machine.accept(outboxRows(6...6))
        #expect(machine.rowsWaitingInMemory == 0)
        machine.wake()
        #expect(machine.nextStep(now: Self.t0) == .wait(refreshBacklog: true))
        #expect(machine.nextDrainStep(now: Self.t0) == .awaitRoundsInFlight)
        machine.roundAcknowledged(inFlight.id)
        machine.roundRecorded(inFlight.id)

        guard case .read(let first) = machine.nextDrainStep(now: Self.t0) else {
            Issue.record("the drain should read from the store")
            return
        }
        #expect(first.selection == .all)
        #expect(first.excluding == nil)
        #expect(machine.drainRowsRead(outboxRows(3...4), for: first)?.rows.map(\.sequence) == [3, 4])
        guard case .read(let second) = machine.nextDrainStep(now: Self.t0) else {
            Issue.record("a full read should be followed by another")
            return
        }
        #expect(machine.drainRowsRead(outboxRows(5...5), for: second)?.rows.map(\.sequence) == [5])
        #expect(machine.nextDrainStep(now: Self.t0) == .finished)
    }

    @Test("drain with nothing due finishes after one read")
    func drainNothing() throws {
        var machine = Self.machine()
        guard case .read(let read) = machine.nextDrainStep(now: Self.t0) else {
            Issue.record("the drain should read from the store")
            return
        }
        #expect(machine.drainRowsRead([], for: read) == nil)
        #expect(machine.nextDrainStep(now: Self.t0) == .finished)
    }
}
