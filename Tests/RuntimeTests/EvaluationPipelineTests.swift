import CarepathOperations
import CarepathSimulation
import Foundation
import Pathway
import Synchronization
import Testing

/// `carepath evaluate` decodes and writes on a thread of its own beside the
/// decisions: the output must be the bytes of the one-thread evaluation,
/// whatever the threads' timing.
@Suite("EvaluationPipeline: two threads, the same bytes")
struct EvaluationPipelineTests {
    static let start = Timestamp(rfc3339: "2026-01-01T00:00:00Z")!

    /// A cohort with blank lines, a malformed line and a line of white space
    /// in it, so line numbers (dead letters' offsets) are checked too.
    static func input(patients: Int) -> [UInt8] {
        var lines = Lines(CohortGenerator(seed: 7, patients: patients, start: start).jsonl()).map(Array.init)
        lines.insert([], at: 3)
        lines.insert(Array("{not json".utf8), at: 10)
        lines.insert(Array(" \t\r".utf8), at: 20)
        return Array(lines.joined(separator: [0x0A])) + [0x0A]
    }

    @Test("the output equals the one-thread evaluation, byte for byte, and is handed on in order")
    func sameBytes() {
        let input = Self.input(patients: 200)
        let until = Timestamp(rfc3339: "2026-09-01T00:00:00Z")
        let expected = OfflineEvaluator.jsonl(OfflineEvaluator.evaluate(jsonl: input, until: until))
        let written = Mutex<[UInt8]>([])
        var evaluator = OfflineEvaluator()
        EvaluationPipeline.run(input, evaluator: &evaluator, until: until, chunkSize: 4096) { chunk in
            written.withLock { $0 += chunk }
        }
        let output = written.withLock { $0 }
        #expect(output.count == expected.count)
        #expect(output == expected)
        #expect(evaluator.patients.count == 200)
    }

    @Test("a slow reader of the output holds the pipeline back instead of buffering the whole output")
    func slowWriter() {
        let input = Self.input(patients: 40)
        let expected = OfflineEvaluator.jsonl(OfflineEvaluator.evaluate(jsonl: input))
        let written = Mutex<(bytes: [UInt8], chunks: Int)>(([], 0))
        var evaluator = OfflineEvaluator()
        EvaluationPipeline.run(input, evaluator: &evaluator, until: nil, chunkSize: 1024) { chunk in
            usleep(200)
            written.withLock {
                $0.bytes += chunk
                $0.chunks += 1
            }
        }
        let result = written.withLock { $0 }
        #expect(result.bytes == expected)
        #expect(result.chunks > 10)
    }

    @Test("an empty input writes nothing")
    func emptyInput() {
        let calls = Mutex(0)
        var evaluator = OfflineEvaluator()
        EvaluationPipeline.run([], evaluator: &evaluator, until: nil) { _ in calls.withLock { $0 += 1 } }
        #expect(calls.withLock { $0 } == 0)
    }
}
