import CarepathRuntime
import Testing

/// ``BackpressureStateMachine``: when consumption pauses and resumes, from the
/// figures alone.
@Suite("BackpressureStateMachine: pause above the high watermark, resume below the low")
struct BackpressureStateMachineTests {
    static func machine(partitions: Set<Int32> = [0, 1]) -> BackpressureStateMachine {
        var machine = BackpressureStateMachine(highWatermark: 100, lowWatermark: 20)
        _ = machine.assignmentChanged(partitions)
        return machine
    }

    @Test("a backlog above the high watermark pauses once; at the watermark it does not")
    func pause() {
        var machine = Self.machine()
        #expect(machine.outboxBacklogChanged(100) == .none)
        #expect(!machine.isPaused)
        #expect(machine.outboxBacklogChanged(101) == .pause)
        #expect(machine.isPaused)
        // Further rises change nothing: one pause, one notice.
        #expect(machine.outboxBacklogChanged(5_000) == .none)
    }

    @Test("paused, it resumes only below the low watermark (hysteresis)")
    func resume() {
        var machine = Self.machine()
        _ = machine.outboxBacklogChanged(150)
        #expect(machine.outboxBacklogChanged(99) == .none)
        #expect(machine.outboxBacklogChanged(20) == .none)
        #expect(machine.isPaused)
        #expect(machine.outboxBacklogChanged(19) == .resume)
        #expect(!machine.isPaused)
        #expect(machine.outboxBacklogChanged(0) == .none)
        // And pauses again on the next rise.
        #expect(machine.outboxBacklogChanged(101) == .pause)
    }

    @Test("without partitions nothing is paused; the first partitions arriving with a high backlog are")
    func noPartitions() {
        var machine = Self.machine(partitions: [])
        #expect(machine.outboxBacklogChanged(500) == .none)
        #expect(!machine.isPaused)
        #expect(machine.assignmentChanged([3]) == .pause)
        #expect(machine.isPaused)
    }

    @Test("partitions assigned while paused are paused too; partitions taken away change nothing")
    func rebalanceWhilePaused() {
        var machine = Self.machine(partitions: [0, 1])
        _ = machine.outboxBacklogChanged(500)
        #expect(machine.assignmentChanged([0]) == .none)
        #expect(machine.assignmentChanged([0, 2]) == .pause)
        #expect(machine.assignmentChanged([0, 2]) == .none)
        #expect(machine.isPaused)
        #expect(machine.outboxBacklogChanged(10) == .resume)
    }

    @Test("a rebalance while consuming, with the backlog low, changes nothing")
    func rebalanceWhileConsuming() {
        var machine = Self.machine(partitions: [0])
        _ = machine.outboxBacklogChanged(50)
        #expect(machine.assignmentChanged([0, 1, 2]) == .none)
        #expect(machine.assignmentChanged([]) == .none)
        #expect(!machine.isPaused)
    }
}
