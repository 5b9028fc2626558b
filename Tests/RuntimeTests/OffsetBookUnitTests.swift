@testable import CarepathRuntime
import CarepathStore
import Kafka
import Testing

/// Unit tests of the internal `OffsetBook`: the store, not Kafka, decides
/// where each assigned partition resumes.
@Suite("OffsetBook: where assigned partitions start")
struct OffsetBookUnitTests {
    static func tp(_ partition: Int32) -> TopicPartition { TopicPartition("clinical.events", partition) }

    @Test("the store's next offsets win over the group's committed offsets")
    func storeWins() throws {
        // Given a store that processed partitions 0 and 1, and a group whose commits lag or lead it
        let book = OffsetBook([0: 42, 1: 7])

        // When both are assigned
        let start = try book.startingPoints(for: [Self.tp(0), Self.tp(1)], committed: [Self.tp(0): 10, Self.tp(1): 99])

        // Then each starts at the store's offset
        #expect(start == [Self.tp(0): 42, Self.tp(1): 7])
    }

    @Test("a partition the store never processed but the group committed past 0 is an error: never processed")
    func processedElsewhere() throws {
        // Given a store that knows partition 0 only
        let book = OffsetBook([0: 42])

        // When partition 2, committed at 5 by the group, is assigned
        let error = #expect(throws: RuntimeError.self) {
            try book.startingPoints(for: [Self.tp(0), Self.tp(2)], committed: [Self.tp(2): 5])
        }

        // Then the error names the partition, the offset and the cause
        let description = try #require(error).description
        #expect(description.contains("never processed"))
        #expect(description.contains("clinical.events[2]"))
        #expect(description.contains("offset 5"))
    }

    @Test("a partition nobody processed starts at offset 0, so that history gone to retention is an error, not a skip")
    func neverProcessed() throws {
        // Given a store that knows partition 0 only
        let book = OffsetBook([0: 42])

        // When partitions 1 (no committed offset) and 3 (committed at 0) are assigned with 0
        let start = try book.startingPoints(for: [Self.tp(0), Self.tp(1), Self.tp(3)], committed: [Self.tp(3): 0])

        // Then partition 0 starts at the store's offset, the others at 0
        #expect(start == [Self.tp(0): 42, Self.tp(1): 0, Self.tp(3): 0])
    }

    @Test("an empty store and an empty group: every partition starts at offset 0")
    func emptyStore() throws {
        let book = OffsetBook([:])
        #expect(try book.startingPoints(for: [Self.tp(0), Self.tp(1)], committed: [:]) == [Self.tp(0): 0, Self.tp(1): 0])
        #expect(book.count == 0)
    }

    @Test("advance keeps the highest next offset per partition and new partitions become known")
    func advance() throws {
        // Given a book at 42 on partition 0
        let book = OffsetBook([0: 42])

        // When batches advance partition 0 forwards then (a stale batch) backwards, and partition 4 for the first time
        book.advance([.init(topic: "clinical.events", partition: 0, offset: 50), .init(topic: "clinical.events", partition: 4, offset: 3)])
        book.advance([.init(topic: "clinical.events", partition: 0, offset: 45)])

        // Then
        #expect(book.next(Self.tp(0)) == 50)
        #expect(book.next(Self.tp(4)) == 3)
        #expect(book.next(Self.tp(5)) == nil)
        #expect(book.count == 2)
        // and partition 4, now known, starts at the store's offset even though the group committed more
        #expect(try book.startingPoints(for: [Self.tp(4)], committed: [Self.tp(4): 9]) == [Self.tp(4): 3])
    }

    @Test("kafkaOffsets reports the store's next offsets of the partitions asked about, when known")
    func kafkaOffsets() {
        let book = OffsetBook([0: 42, 1: 7])
        #expect(book.kafkaOffsets(for: [Self.tp(1), Self.tp(2)]) == [Self.tp(1): 7])
        #expect(book.kafkaOffsets(for: []).isEmpty)
    }
}
