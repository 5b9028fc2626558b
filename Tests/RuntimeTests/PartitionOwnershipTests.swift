import CarepathRuntime
import CarepathSimulation
import CarepathStore
import Foundation
import Kafka
import Pathway
import Testing

extension RuntimeClusterTests {
    /// Instances sharing one store (an in-memory store marked shared, as a
    /// PostgreSQL store will be): each assignment claims its partitions with
    /// a new epoch, and a commit fenced with a superseded claim is refused.
    @Suite("Partition claims on a shared store")
    struct PartitionClaimTests {
        static let input = TopicNames.standard.input

        /// A cohort whose clinical times start now: fed in two parts, it
        /// still equals its offline evaluation, since no timer comes due
        /// between the parts (a history dated in the past would fire timers
        /// live before the second part's earlier events arrive).
        static func presentCohort(patients: Int) -> [[UInt8]] {
            CohortGenerator(seed: 23, patients: patients, eventsPerPatient: 20, start: WallClock.system.now()).lines()
        }

        /// Waits until the store has read at least `count` inputs (the fed
        /// ones; the timers' announcements go to the input topic too).
        static func waitUntilStored(_ count: Int, in store: any EventStore) async throws {
            try await eventually("the store's next offsets to reach \(count)") {
                try await store.nextOffsets(topic: input).values.reduce(0, +) >= Int64(count)
            }
        }

        @Test("a commit refused because another instance claimed the partitions publishes nothing of its batch; the instance rejoins, claims again and catches up")
        func fencedCommitRejoins() async throws {
            let harness = try RuntimeHarness(partitions: 2)
            let store = InMemoryEventStore(shared: true)
            let lines = Self.presentCohort(patients: 40)
            let (first, rest) = (Array(lines.prefix(400)), Array(lines.dropFirst(400)))
            let now = WallClock.system.now()
            let expected = PerPatientStreams(offline: OfflineEvaluator.evaluate(jsonl: Array(lines.joined(separator: [0x0A])) + [0x0A], until: now))

            try await harness.feed(first)
            let running = harness.startService(opened: store, closesStore: false)
            try await Self.waitUntilStored(first.count, in: store)
            #expect(running.application.status.current.assignedPartitions == [0, 1])

            // Another instance claims both partitions (epoch 2) while this one still consumes them.
            let intruder = try await store.claim(topic: Self.input, partitions: [0, 1], owner: "intruder", at: now)
            #expect(intruder.map(\.epoch) == [2, 2])
            try await harness.feed(rest)
            // Its next commit is refused; it rejoins, claims again (epoch 3) and processes the rest.
            try await Self.waitUntilStored(lines.count, in: store)
            let reader = try harness.reader()
            let published = try await reader.read(until: { PerPatientStreams(live: $0, firstOccurrenceOnly: true).messageCount >= expected.messageCount })
            try await running.stop()
            await reader.close()

            #expect(try await store.claim(topic: Self.input, partitions: [0, 1], owner: "probe", at: now).map(\.epoch) == [4, 4],
                    "the instance claimed both partitions once more after the refused commit")
            #expect(running.application.metrics.snapshot.fencedCommits == 1)
            #expect(running.application.metrics.snapshot.partitionsClaimed == 4)
            let live = PerPatientStreams(live: published, firstOccurrenceOnly: true)
            if let difference = live.firstDifference(from: expected) { Issue.record("live and offline differ: \(difference)") }
            #expect(live == expected)
            // The refused batch was never published: every id has one content.
            var contents: [String: [UInt8]] = [:]
            for m in published {
                if let earlier = contents.updateValue(m.value, forKey: m.carepathId) { #expect(earlier == m.value, "\(m.carepathId) published with two contents") }
            }
            #expect(try await store.processedInputs().count == Set(try await store.processedInputs().map { "\($0.patientId) \($0.source) \($0.id)" }).count)
            await store.close()
        }

        @Test("a second instance joining the group takes partitions over from the store as the first left them; outputs equal offline")
        func secondInstanceTakesOver() async throws {
            let harness = try RuntimeHarness(partitions: 4)
            let store = InMemoryEventStore(shared: true)
            let lines = Self.presentCohort(patients: 80)
            let (first, rest) = (Array(lines.prefix(800)), Array(lines.dropFirst(800)))
            let now = WallClock.system.now()
            let expected = PerPatientStreams(offline: OfflineEvaluator.evaluate(jsonl: Array(lines.joined(separator: [0x0A])) + [0x0A], until: now))

            try await harness.feed(first)
            let a = harness.startService(opened: store, closesStore: false)
            try await Self.waitUntilStored(first.count, in: store)
            let b = harness.startService(opened: store, closesStore: false)
            try await eventually("the group to split the partitions between the two") {
                let (ofA, ofB) = (a.application.status.current.assignedPartitions, b.application.status.current.assignedPartitions)
                return !ofA.isEmpty && !ofB.isEmpty && ofA.union(ofB) == [0, 1, 2, 3] && ofA.isDisjoint(with: ofB)
            }
            try await harness.feed(rest)
            try await Self.waitUntilStored(lines.count, in: store)
            let reader = try harness.reader()
            let published = try await reader.read(until: { PerPatientStreams(live: $0, firstOccurrenceOnly: true).messageCount >= expected.messageCount })
            #expect(b.application.metrics.snapshot.consumed > 0, "the second instance consumed nothing")
            try await b.stop()
            try await a.stop()
            await reader.close()

            let live = PerPatientStreams(live: published, firstOccurrenceOnly: true)
            if let difference = live.firstDifference(from: expected) { Issue.record("live and offline differ: \(difference)") }
            #expect(live == expected)
            await store.close()
        }
    }
}
