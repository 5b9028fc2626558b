import CarepathRuntime
import CarepathStore
import Foundation
@_spi(Testing) import Kafka
import Pathway
import Testing

extension RuntimeClusterTests {
    @Suite("Guarantee 3: broker faults")
    struct BrokerFaultTests {
        @Test("injected produce and fetch errors and a broker down for seconds: nothing lost, nothing under a new id")
        func faults() async throws {
            let harness = try RuntimeHarness(partitions: 4)
            let lines = pastCohort(patients: 200, events: 20, seed: 31)
            let offline = OfflineEvaluator.evaluate(jsonl: Array(lines.joined(separator: [0x0A])) + [0x0A], until: WallClock.system.now())
            let expected = PerPatientStreams(offline: offline)
            let running = try await harness.startService(store: harness.folder.file("faults.sqlite")) {
                $0.batchSize = 200
                $0.kafkaProperties["socket.timeout.ms"] = "2000"
            }
            let feeding = Task { try await harness.feed(lines) }
            try await Task.sleep(for: .milliseconds(800))
            let codes = KafkaError.Code.self
            harness.cluster.failNextRequests(.produce, with: [codes.notLeaderForPartition, codes.requestTimedOut,
                                                               codes.notEnoughReplicas, codes.leaderNotAvailable])
            harness.cluster.failNextRequests(.fetch, with: [codes.notLeaderForPartition, codes.leaderNotAvailable])
            try await Task.sleep(for: .milliseconds(500))
            try harness.cluster.setBrokerDown(1)
            try await Task.sleep(for: .seconds(3))
            try harness.cluster.setBrokerUp(1)
            try await feeding.value

            let reader = try harness.reader()
            let published = try await reader.read(until: { PerPatientStreams(live: $0, firstOccurrenceOnly: true).messageCount >= expected.messageCount },
                                                   within: .seconds(120), quiet: .seconds(1))
            try await running.stop()
            await reader.close()
            var valueById: [String: [UInt8]] = [:]
            for m in published {
                if let seen = valueById[m.carepathId] { #expect(seen == m.value, "\(m.carepathId) published with two contents") }
                valueById[m.carepathId] = m.value
            }
            let live = PerPatientStreams(live: published, firstOccurrenceOnly: true)
            if let difference = live.firstDifference(from: expected) { Issue.record("after faults, live and offline differ: \(difference)") }
            #expect(live == expected)
        }
    }

    @Suite("Guarantee 4: poison messages")
    struct PoisonMessageTests {
        @Test("invalid JSON, unknown type, bad fields, oversize and mis-keyed messages are dead-lettered and processing continues")
        func poison() async throws {
            let harness = try RuntimeHarness(partitions: 1)
            let t0 = Timestamp(rfc3339: "2026-03-02T10:00:00Z")!
            let oversize = Array("{\"specversion\":\"1.0\",\"id\":\"big\",\"pad\":\"".utf8) + [UInt8](repeating: 0x61, count: 1_200_000) + Array("\"}".utf8)
            let poison: [(String?, [UInt8])] = [
                ("P-BAD", Array("{not json".utf8)),
                ("P-BAD", inputLine(id: "u1", type: "lab.resulted", subject: "P-BAD", time: t0, data: [:])),
                ("P-BAD", inputLine(id: "b1", type: "pain.assessed", subject: "P-BAD", time: t0, data: ["nrs": 11])),
                ("P-BAD", oversize),
                ("P-OTHER", inputLine(id: "k1", type: "pain.assessed", subject: "P-BAD", time: t0, data: ["nrs": 3])),
                (nil, inputLine(id: "k2", type: "pain.assessed", subject: "P-BAD", time: t0, data: ["nrs": 3])),
            ]
            let good = conservativeCareHistory(patient: "P-OK", start: t0)
            try await harness.feed(poison.map(\.1) + good, keys: poison.map(\.0) + good.map { _ in "P-OK" })
            let running = try await harness.startService(store: harness.folder.file("poison.sqlite"))
            let reader = try harness.reader()
            let published = try await reader.read(until: { messages in
                messages.contains { $0.topic == "pathway.recommendations" && object($0)["code"] as? String == "CONSERVATIVE_MANAGEMENT" }
                    && messages.filter { $0.topic == "clinical.events.dlq" }.count >= 6
            }, within: .seconds(60))
            try await running.stop()
            await reader.close()

            let letters = published.filter { $0.topic == "clinical.events.dlq" }.map(object)
            #expect(letters.map { $0["reason"] as? String } == ["invalid-json", "unknown-type", "invalid-field", "too-large",
                                                                 "invalid-field", "invalid-field"])
            #expect(letters.map { $0["path"] as? String } == ["$", "$.type", "$.data.nrs", "$", "$.subject", "$.subject"])
            #expect(letters.map { $0["offset"] as? Int } == [0, 1, 2, 3, 4, 5])
            #expect(letters.allSatisfy { $0["partition"] as? Int == 0 && $0["receivedAt"] is String && $0["topic"] as? String == "clinical.events" })
            let big = letters[3]
            #expect(big["payloadTruncated"] as? Bool == true)
            #expect((big["payload"] as? String)?.utf8.count == DeadLetter.maximumPayloadBytes)
            #expect((big["payloadSha256"] as? String)?.count == 64)
            #expect((letters[4]["message"] as? String)?.contains("P-OTHER") == true)
            #expect(published.filter { $0.topic == "clinical.events.dlq" }.map(\.key) == ["P-BAD", "P-BAD", "P-BAD", "P-BAD", "P-OTHER", nil])
            // Processing went on: the good patient's card is out.
            let cards = published.filter { $0.topic == "pathway.recommendations" && $0.key == "P-OK" }.map { object($0)["code"] as? String }
            #expect(cards.contains("CONSERVATIVE_MANAGEMENT"))
        }
    }

    @Suite("Guarantee 5: re-delivery")
    struct RedeliveryTests {
        @Test("the same source, id and content publishes nothing; other content publishes one conflicting-duplicate dead letter and a result review",
              arguments: StoreBackend.allCases)
        func redelivery(_ backend: StoreBackend) async throws {
            let harness = try RuntimeHarness(partitions: 2)
            let t0 = Timestamp(rfc3339: "2026-03-02T10:00:00Z")!
            let history = conservativeCareHistory(patient: "P-RE", start: t0)
            try await harness.feed(history)
            let running = try await harness.startService(store: harness.storeSetting(backend, file: "redelivery.sqlite"))
            let reader = try harness.reader()
            _ = try await reader.read(until: { $0.contains { $0.topic == "pathway.recommendations" } }, within: .seconds(60), quiet: .seconds(1))
            let before = reader.messages.count

            try await harness.feed(history)  // the whole history again, byte for byte
            _ = try await reader.read(quiet: .seconds(2))
            #expect(reader.messages.count == before, "a re-delivery published something")

            let changed = inputLine(id: "P-RE-e3", type: "neuro.examined", subject: "P-RE", time: t0,
                                    data: ["motorDeficit": true, "neuroStatus": "nerve-root"])
            try await harness.feed([changed])
            _ = try await reader.read(until: { $0.count > before }, within: .seconds(30), quiet: .seconds(2))
            try await running.stop()
            await reader.close()
            let new = Array(reader.messages.dropFirst(before))
            // One dead letter, as before version 3 …
            let letters = new.filter { $0.topic == "clinical.events.dlq" }
            #expect(letters.count == 1)
            #expect(letters.first.map(object)?["reason"] as? String == "conflicting-duplicate")
            #expect(letters.first?.causationId == "P-RE-e3")
            // … and the conflict reaches a clinician: CONFLICTING_RESULT_REVIEW with a result-review task naming the fields
            let cards = new.filter { $0.topic == "pathway.recommendations" }.map(object)
            #expect(cards.map { $0["code"] as? String } == ["CONFLICTING_RESULT_REVIEW"])
            let tasks = new.filter { $0.topic == "pathway.tasks" }.map(object)
            #expect(tasks.count == 1)
            let description = tasks.first?["description"] as? String ?? ""
            #expect(description.contains("P-RE-e3") && description.contains("data.motorDeficit") && description.contains("data.neuroStatus"))
            #expect(new.filter { $0.topic != "clinical.events.dlq" }.allSatisfy { $0.causationId == "P-RE-e3" })
        }
    }

    @Suite("Guarantee 6: timers fire live")
    struct LiveTimerTests {
        @Test("an overdue reassessment is published when its time comes, without any new input")
        func reassessmentOverdue() async throws {
            let harness = try RuntimeHarness(partitions: 2)
            // Conservative care began 42 days ago less 12 seconds: the day-42 timer is due in 12 s
            // (a margin for the group join, which the embedded broker delays by 3 s, on a loaded machine).
            let margin: Int64 = 12_000
            let start = Timestamp(millisecondsSinceEpoch: WallClock.system.now().millisecondsSinceEpoch - 42 * 86_400_000 + margin)
            let due = start.millisecondsSinceEpoch + 42 * 86_400_000
            try await harness.feed(conservativeCareHistory(patient: "P-TIMER", start: start))
            let running = try await harness.startService(store: harness.folder.file("timers.sqlite"))
            let reader = try harness.reader(topics: ["pathway.recommendations", "clinical.events"])
            _ = try await reader.read(until: { $0.contains { $0.topic == "pathway.recommendations" } }, within: .seconds(60), quiet: .zero)
            // Whatever was read before the due time must not hold the card.
            if WallClock.system.now().millisecondsSinceEpoch < due {
                #expect(!reader.messages.contains { object($0)["code"] as? String == "REASSESSMENT_OVERDUE" },
                        "the card must not come before its time")
            }
            let published = try await reader.read(until: { messages in
                messages.contains { $0.topic == "pathway.recommendations" && object($0)["code"] as? String == "REASSESSMENT_OVERDUE" }
            }, within: .seconds(60), quiet: .milliseconds(300))
            try await running.stop()
            await reader.close()
            let card = try #require(published.first { $0.topic == "pathway.recommendations" && object($0)["code"] as? String == "REASSESSMENT_OVERDUE" })
            #expect(card.causationId == "P-TIMER/reassessment-overdue/1")
            // The only inputs after the history are the scheduler's own announcements
            // (the calcitonin window, 28 days after identification, then the day-42 check).
            let inputs = published.filter { $0.topic == "clinical.events" }.map(object)
            #expect(inputs.count == 5)
            #expect(inputs.dropFirst(3).allSatisfy { $0["type"] as? String == "timer.fired" && $0["source"] as? String == TimerScheduler.source })
            #expect(inputs.last?["type"] as? String == "timer.fired")
            #expect(inputs.last?["source"] as? String == TimerScheduler.source)
            #expect(inputs.last?["id"] as? String == "P-TIMER/reassessment-overdue/1")
        }

        @Test("a timer already due when its batch commits is announced at once, not at the scheduler's next interval",
              arguments: StoreBackend.allCases)
        func dueOnCommit(_ backend: StoreBackend) async throws {
            let harness = try RuntimeHarness(partitions: 2)
            // Conservative care began 43 days ago: the day-42 timer was due a day ago.
            let start = Timestamp(millisecondsSinceEpoch: WallClock.system.now().millisecondsSinceEpoch - 43 * 86_400_000)
            try await harness.feed(conservativeCareHistory(patient: "P-CATCH-UP", start: start))
            // The scheduler looks once at start (before the group join lets anything
            // be committed), then only every two minutes.
            let running = try await harness.startService(store: harness.storeSetting(backend, file: "due.sqlite")) {
                $0.timerIntervalMilliseconds = 120_000
            }
            let began = ContinuousClock.now
            let reader = try harness.reader(topics: ["pathway.recommendations", "clinical.events"])
            let published = try await reader.read(until: { messages in
                messages.contains { $0.topic == "pathway.recommendations" && object($0)["code"] as? String == "REASSESSMENT_OVERDUE" }
            }, within: .seconds(60), quiet: .milliseconds(300))
            let waited = ContinuousClock.now - began
            try await running.stop()
            await reader.close()
            #expect(published.contains { $0.topic == "clinical.events" && object($0)["id"] as? String == "P-CATCH-UP/reassessment-overdue/1" })
            #expect(published.contains { $0.topic == "pathway.recommendations" && object($0)["code"] as? String == "REASSESSMENT_OVERDUE" })
            #expect(waited < .seconds(60), "the overdue card waited for the scheduler's interval")
        }
    }

    @Suite("Start-up checks")
    struct StartUpTests {
        @Test("an output topic Kafka will not serve stops carepath at start, naming the topic and what to do")
        func unusableOutputTopic() async throws {
            let harness = try RuntimeHarness(partitions: 2)
            harness.cluster.setTopicError("pathway.tasks", KafkaError.Code.topicAuthorizationFailed)
            let running = try await harness.startService(store: harness.folder.file("topics.sqlite"))
            do {
                try await running.stop()
                Issue.record("carepath started without being able to publish to pathway.tasks")
            } catch let error as RuntimeError {
                #expect(error.message.contains("pathway.tasks"))
                #expect(error.message.contains("create the topics of PATHWAY.md section 1"))
            }
            #expect(running.application.metrics.snapshot.consumed == 0)
        }
    }

    @Suite("Partition ownership")
    struct PartitionOwnershipTests {
        @Test("a partition the group processed elsewhere but this store never did stops carepath with a clear error")
        func processedElsewhere() async throws {
            let harness = try RuntimeHarness(partitions: 1)
            try await harness.feed(conservativeCareHistory(patient: "P-A", start: Timestamp(rfc3339: "2026-03-02T10:00:00Z")!))
            let first = try await harness.startService(store: harness.folder.file("a.sqlite"), group: "shared")
            let reader = try harness.reader()
            _ = try await reader.read(until: { $0.contains { $0.topic == "pathway.recommendations" } }, within: .seconds(60), quiet: .zero)
            await reader.close()
            try await first.stop()  // commits its offsets to the group

            let second = try await harness.startService(store: harness.folder.file("b.sqlite"), group: "shared")
            await #expect {
                try await second.task.value
            } throws: { error in
                "\(error)".contains("this store has never processed it") && "\(error)".contains("clinical.events[0]")
            }
            await second.store.close()
        }
    }
}
