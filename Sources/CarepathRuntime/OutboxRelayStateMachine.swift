public import CarepathStore
public import Pathway

/// The outbox relay's decisions, without the store, Kafka or a clock: which
/// rows go in the next round and where they come from, which rounds are in
/// flight, what a round's delivery reports mean for the store, when rows that
/// failed are read back for a retry, and how the relay drains at shutdown.
///
/// Events go in (rows handed over, rows read, reports, a wake, the time), and
/// what to do comes out; ``OutboxRelay`` carries it out. Rows are taken in this
/// order when rows are handed over in memory (``Configuration/handOverFrom``):
/// 1. rows committed before the relay started (a crash's or a stop's
///    leftovers), read from the store until a read returns less than a round;
/// 2. rows due for a retry, read from the store at most once per wake, only
///    while some may be waiting and not before the first retry this run
///    recorded is due;
/// 3. rows handed over by ``accept(_:)``, in commit order, never read back.
///
/// Without hand-over every round is read from the store (``OutboxSelection/all``).
public struct OutboxRelayStateMachine: Sendable {
    /// How the relay sends.
    public struct Configuration: Sendable, Hashable {
        /// Rows per round.
        public var roundSize: Int
        /// Rounds that may wait for their acknowledgements at once.
        public var roundsInFlight: Int
        /// How long a row whose delivery failed waits before it is sent again.
        public var retryDelayMilliseconds: Int64
        /// The store's next outbox sequence before anything was committed, when
        /// every row committed from then on is handed over in memory; `nil`:
        /// every row is read from the store.
        public var handOverFrom: Int64?

        /// - Parameters:
        ///   - roundSize: rows per round.
        ///   - roundsInFlight: rounds awaiting acknowledgements at once.
        ///   - retryDelayMilliseconds: the wait before a failed row is sent again.
        ///   - handOverFrom: see ``handOverFrom``.
        public init(roundSize: Int = 10_000, roundsInFlight: Int = 4, retryDelayMilliseconds: Int64 = 5_000, handOverFrom: Int64? = nil) {
            precondition(roundSize > 0 && roundsInFlight > 0, "rounds need a size and a limit")
            self.roundSize = roundSize
            self.roundsInFlight = roundsInFlight
            self.retryDelayMilliseconds = retryDelayMilliseconds
            self.handOverFrom = handOverFrom
        }
    }

    /// A read of unpublished rows from the store.
    public struct Read: Sendable, Hashable {
        /// Which rows: all, those committed before the relay started, or retries.
        public var selection: OutboxSelection
        /// At most this many.
        public var limit: Int
        /// Rows whose next attempt is due at this time.
        public var now: Timestamp
        /// Sequences of rounds not yet recorded, left out of the read.
        public var excluding: ClosedRange<Int64>?
        /// Failures recorded before the read was decided: a check that finds
        /// no retry waiting does not forget a failure recorded meanwhile.
        fileprivate var failuresSeen: Int
    }

    /// Rows sent together; their reports are recorded together.
    public struct Round: Sendable, Hashable {
        /// The round's own id, for ``roundAcknowledged(_:)`` and ``roundRecorded(_:)``.
        public var id: Int
        /// The rows, in sequence order.
        public var rows: [OutboxRecord]
    }

    /// What the relay does next, within one wake.
    public enum Step: Sendable, Hashable {
        /// Read rows from the store, then report them with ``rowsRead(_:for:)``.
        case read(Read)
        /// A retry read found nothing: count the rows still awaiting a retry
        /// (``EventStore/outboxRowsAwaitingRetry()``), then report it with
        /// ``retriesAwaiting(_:for:)``.
        case countRetries(Read)
        /// Hand the round to the publisher, in this order, and wait for its
        /// reports beside the next rounds.
        case send(Round)
        /// Nothing more to send in this wake: wait for the next. With
        /// `refreshBacklog`, no round started in this wake, so the backlog
        /// figure is read from the store (a round refreshes it when recorded).
        case wait(refreshBacklog: Bool)
    }

    /// What to write to the store after a round's reports.
    public struct Recording: Sendable, Hashable {
        /// Rows delivered: mark them published.
        public var published: [Int64]
        /// Rows not delivered, and why: mark them failed.
        public var failed: [OutboxFailure]
        /// When the failed rows are due again.
        public var retryAt: Timestamp

        /// - Parameters:
        ///   - published: rows to mark published.
        ///   - failed: rows to mark failed.
        ///   - retryAt: when the failed rows are due again.
        public init(published: [Int64], failed: [OutboxFailure], retryAt: Timestamp) {
            self.published = published
            self.failed = failed
            self.retryAt = retryAt
        }
    }

    /// What the relay does next while draining at shutdown.
    public enum DrainStep: Sendable, Hashable {
        /// Rounds are still in flight: wait for them to be recorded first.
        case awaitRoundsInFlight
        /// Read due rows from the store, then report them with ``drainRowsRead(_:for:)``.
        case read(Read)
        /// Every row due now has been sent once; what failed waits for the next start.
        case finished
    }

    private struct InFlight: Sendable, Hashable {
        var range: ClosedRange<Int64>
        var awaitingAcknowledgement: Bool
    }

    private enum Phase: Sendable, Hashable {
        case publishing
        case draining(finished: Bool)
    }

    /// How the relay sends.
    public let configuration: Configuration
    private var phase = Phase.publishing
    /// Rows handed over by ``accept(_:)`` and not yet sent, in sequence order.
    private var handedOver: [OutboxRecord] = []
    /// Whether every row below ``Configuration/handOverFrom`` has been read.
    private var leftoversRead: Bool
    /// Whether rows may be waiting for a retry (at start: a previous run may have left some).
    private var retriesMayBeWaiting = true
    /// No retry read before this time (the first retry this run recorded);
    /// `nil` while retries may be waiting: read at every wake.
    private var retryReadNotBefore: Timestamp?
    private var failuresSeen = 0
    /// Rows read from the store, to go as the next round.
    private var readyRows: [OutboxRecord] = []
    private var rounds: [Int: InFlight] = [:]
    private var nextRoundId = 0
    /// Within the current wake.
    private var roundStartedThisWake = false
    private var retriesCheckedThisWake = false
    private var storeExhaustedThisWake = false

    /// - Parameter configuration: round size, rounds in flight, retry delay, hand-over.
    public init(configuration: Configuration) {
        self.configuration = configuration
        leftoversRead = configuration.handOverFrom == nil
    }

    // MARK: Rows in, rounds out

    /// Rows just committed, in sequence order; with hand-over, each committed
    /// row must be handed over exactly once, in commit order. Without
    /// hand-over they are ignored (the store has them), and while draining too
    /// (the drain reads them from the store).
    /// - Parameter records: the rows, with their sequences.
    public mutating func accept(_ records: [OutboxRecord]) {
        guard configuration.handOverFrom != nil, phase == .publishing else { return }
        handedOver.append(contentsOf: records)
    }

    /// Rows handed over and not yet sent.
    public var rowsWaitingInMemory: Int { handedOver.count + readyRows.count }

    /// Rounds sent whose reports are not yet recorded.
    public var roundsNotRecorded: Int { rounds.count }

    /// Rounds still waiting for their acknowledgements (these count against
    /// ``Configuration/roundsInFlight``; recording in the store does not).
    public var roundsAwaitingAcknowledgement: Int { rounds.values.count { $0.awaitingAcknowledgement } }

    /// The relay woke (rows handed over, a round acknowledged or recorded, or its tick).
    public mutating func wake() {
        roundStartedThisWake = false
        retriesCheckedThisWake = false
        storeExhaustedThisWake = false
    }

    /// What to do next in this wake.
    /// - Parameter now: the wall clock.
    /// - Returns: a read, a round to send, or ``Step/wait(refreshBacklog:)``.
    public mutating func nextStep(now: Timestamp) -> Step {
        guard phase == .publishing, roundsAwaitingAcknowledgement < configuration.roundsInFlight else {
            return .wait(refreshBacklog: !roundStartedThisWake)
        }
        if !readyRows.isEmpty {
            let rows = readyRows
            readyRows = []
            return .send(startRound(rows))
        }
        guard let handOverFrom = configuration.handOverFrom else {
            if storeExhaustedThisWake { return .wait(refreshBacklog: !roundStartedThisWake) }
            return .read(read(.all, now: now))
        }
        if !leftoversRead && !storeExhaustedThisWake {
            return .read(read(.before(handOverFrom), now: now))
        }
        if !retriesCheckedThisWake, retriesMayBeWaiting, retryReadNotBefore.map({ now >= $0 }) ?? true {
            retriesCheckedThisWake = true
            return .read(read(.retries, now: now))
        }
        if !handedOver.isEmpty {
            let rows = Array(handedOver.prefix(configuration.roundSize))
            handedOver.removeFirst(rows.count)
            return .send(startRound(rows))
        }
        return .wait(refreshBacklog: !roundStartedThisWake)
    }

    /// The rows a ``Step/read(_:)`` returned.
    /// - Parameters:
    ///   - rows: the rows, in sequence order.
    ///   - read: the read that returned them.
    /// - Returns: ``Step/countRetries(_:)`` when a retry read found nothing
    ///   (so that the relay learns whether any are still waiting), else `nil`:
    ///   go on with ``nextStep(now:)``.
    public mutating func rowsRead(_ rows: [OutboxRecord], for read: Read) -> Step? {
        switch read.selection {
        case .before:
            // A short read: every leftover has been read (or is in a round).
            if rows.count < read.limit { leftoversRead = true }
            if rows.isEmpty { storeExhaustedThisWake = true }
        case .all:
            if rows.isEmpty { storeExhaustedThisWake = true }
        case .retries:
            if rows.isEmpty { return .countRetries(read) }
        }
        if phase == .publishing { readyRows = rows }
        return nil
    }

    /// How many rows await a retry, counted after a retry read found none due.
    /// - Parameters:
    ///   - count: ``EventStore/outboxRowsAwaitingRetry()``.
    ///   - read: the retry read that found nothing.
    public mutating func retriesAwaiting(_ count: Int, for read: Read) {
        if count == 0 {
            // Only if no failure was recorded since the read was decided.
            if failuresSeen == read.failuresSeen {
                retriesMayBeWaiting = false
                retryReadNotBefore = nil
            }
        } else {
            // Some wait, not due yet or in a round: look again at each wake.
            retryReadNotBefore = nil
        }
    }

    // MARK: Reports

    /// Every row of the round has its report (delivered or failed): it no
    /// longer counts against the rounds in flight, while it is recorded.
    /// - Parameter id: the round.
    public mutating func roundAcknowledged(_ id: Int) {
        rounds[id]?.awaitingAcknowledgement = false
    }

    /// What a round's reports mean for the store.
    /// - Parameters:
    ///   - results: one report per row, in the round's order.
    ///   - rows: the round's rows.
    ///   - now: the wall clock; failed rows are due again after the retry delay.
    /// - Returns: the rows to mark published and those to mark failed.
    public func recording(of results: [DeliveryResult], for rows: [OutboxRecord], now: Timestamp) -> Recording {
        var published: [Int64] = []
        var failed: [OutboxFailure] = []
        for (row, result) in zip(rows, results) {
            switch result {
            case .delivered: published.append(row.sequence)
            case .failed(let reason): failed.append(OutboxFailure(sequence: row.sequence, reason: reason))
            }
        }
        return Recording(published: published, failed: failed,
                         retryAt: Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch + configuration.retryDelayMilliseconds))
    }

    /// The store has the failures of a ``Recording``: they are read back once due.
    /// - Parameter recording: what was written.
    public mutating func failuresRecorded(_ recording: Recording) {
        guard !recording.failed.isEmpty else { return }
        failuresSeen += recording.failed.count
        if retriesMayBeWaiting {
            // Already reading at each wake, or from an earlier due time: keep the earlier.
            retryReadNotBefore = retryReadNotBefore.map { min($0, recording.retryAt) }
        } else {
            retriesMayBeWaiting = true
            retryReadNotBefore = recording.retryAt
        }
    }

    /// The round's reports are recorded in the store: its rows are no longer
    /// left out of reads.
    /// - Parameter id: the round.
    public mutating func roundRecorded(_ id: Int) {
        rounds.removeValue(forKey: id)
    }

    // MARK: Shutdown

    /// Stops starting rounds: from now on the relay only waits for the rounds
    /// in flight, then reads every due row from the store (handed-over rows
    /// not yet sent are among them) and sends them, round after round.
    public mutating func beginDrain() {
        guard phase == .publishing else { return }
        phase = .draining(finished: false)
        handedOver.removeAll()
        readyRows.removeAll()
    }

    /// What to do next while draining.
    /// - Parameter now: the wall clock.
    /// - Returns: wait for the rounds in flight, read due rows, or finished.
    public mutating func nextDrainStep(now: Timestamp) -> DrainStep {
        if phase == .publishing { beginDrain() }
        guard case .draining(let finished) = phase, !finished else { return .finished }
        guard rounds.isEmpty else { return .awaitRoundsInFlight }
        return .read(read(.all, now: now))
    }

    /// The rows a drain read returned.
    /// - Parameters:
    ///   - rows: the rows, in sequence order.
    ///   - read: the read that returned them.
    /// - Returns: the round to send and record before the next drain step, or
    ///   `nil` when nothing was due.
    public mutating func drainRowsRead(_ rows: [OutboxRecord], for read: Read) -> Round? {
        // A short read: nothing more is due (what fails now waits for the next start).
        if rows.count < read.limit { phase = .draining(finished: true) }
        guard !rows.isEmpty else { return nil }
        nextRoundId += 1
        return Round(id: nextRoundId, rows: rows)
    }

    // MARK: Helpers

    private func read(_ selection: OutboxSelection, now: Timestamp) -> Read {
        Read(selection: selection, limit: configuration.roundSize, now: now, excluding: span, failuresSeen: failuresSeen)
    }

    /// The smallest range covering every round not yet recorded.
    private var span: ClosedRange<Int64>? {
        guard let low = rounds.values.map(\.range.lowerBound).min(),
              let high = rounds.values.map(\.range.upperBound).max() else { return nil }
        return low...high
    }

    private mutating func startRound(_ rows: [OutboxRecord]) -> Round {
        nextRoundId += 1
        // Rows are in sequence order, except a retry round's, which may be
        // scattered: the range covers them all.
        let low = rows.map(\.sequence).min()!, high = rows.map(\.sequence).max()!
        rounds[nextRoundId] = InFlight(range: low...high, awaitingAcknowledgement: true)
        roundStartedThisWake = true
        return Round(id: nextRoundId, rows: rows)
    }
}
