import Dispatch
import Foundation
public import Pathway
import Synchronization

/// `carepath evaluate` on two cores: one thread decodes the input lines ahead
/// and writes the output chunks, while the calling thread decides and encodes.
///
/// Decoding a line (parsing, validation, the fingerprint) reads no patient
/// state, and writing a chunk to standard output reads none either, so both
/// run beside the decisions without changing a byte of the output: the lines
/// are decided in file order, and the chunks written in the order they were
/// produced. Hand-written because a measurement asked for it: on the benchmark
/// cohort, decoding is ~20% of the evaluation and writing a 650 MB output file
/// costs ~1 s of system time, both of which the single thread used to wait for.
/// Both hand-offs are bounded, so memory stays bounded when the reader of
/// standard output is slow.
public enum EvaluationPipeline {
    /// Lines decoded a batch at a time: one hand-off per batch, not per line.
    static let batchSize = 512

    /// Evaluates `input` and writes the JSONL output to `write`.
    /// - Parameters:
    ///   - input: the whole input file.
    ///   - evaluator: the evaluator; it keeps every patient's state afterwards.
    ///   - until: the `--until` time.
    ///   - chunkSize: about how many bytes `write` is given at a time.
    ///   - write: writes one chunk; called on a thread of its own, in order,
    ///     and the output is complete when `run` returns.
    public static func run(_ input: [UInt8], evaluator: inout OfflineEvaluator, until: Timestamp?, chunkSize: Int = 1 << 20,
                           write: @escaping @Sendable ([UInt8]) -> Void) {
        let decoded = Handoff<[InputLine]>(capacity: 8)
        let output = Handoff<[UInt8]>(capacity: 4)
        let decoder = Thread {
            var batch: [InputLine] = []
            batch.reserveCapacity(batchSize)
            for (n, line) in Lines(input).enumerated() where !Lines.isBlank(line) {
                batch.append(InputLine(lineNumber: n, bytes: Array(line)))
                if batch.count == batchSize {
                    decoded.put(batch)
                    batch.removeAll(keepingCapacity: true)
                }
            }
            decoded.put(batch)
            decoded.close()
        }
        decoder.name = "carepath.evaluate.decode"
        decoder.stackSize = 8 << 20
        let written = DispatchSemaphore(value: 0)
        let writer = Thread {
            while let chunk = output.take() { write(chunk) }
            written.signal()  // Foundation's Thread has no join.
        }
        writer.name = "carepath.evaluate.write"
        decoder.start()
        writer.start()
        evaluator.evaluate(DecodedLines(source: decoded), until: until, chunkSize: chunkSize) { output.put($0) }
        output.close()
        written.wait()
    }
}

/// The decoded lines, in file order, as the decoding thread hands them over.
private struct DecodedLines: Sequence {
    let source: Handoff<[InputLine]>

    func makeIterator() -> Iterator { Iterator(source: source) }

    struct Iterator: IteratorProtocol {
        let source: Handoff<[InputLine]>
        var batch: [InputLine] = []
        var index = 0
        var ended = false

        mutating func next() -> InputLine? {
            while index == batch.count {
                guard !ended, let next = source.take() else {
                    ended = true
                    return nil
                }
                batch = next
                index = 0
            }
            defer { index += 1 }
            return batch[index]
        }
    }
}

/// A bounded first-in first-out hand-off from one thread to another: `put`
/// waits while `capacity` elements are waiting, `take` waits for one and
/// returns nil once the producer has closed it and everything is taken.
final class Handoff<Element: Sendable>: Sendable {
    private let free: DispatchSemaphore
    private let filled = DispatchSemaphore(value: 0)
    private let waiting = Mutex<(elements: [Element], closed: Bool)>(([], false))

    init(capacity: Int) { free = DispatchSemaphore(value: capacity) }

    /// Hands one element over, waiting for room.
    func put(_ element: Element) {
        free.wait()
        waiting.withLock { $0.elements.append(element) }
        filled.signal()
    }

    /// Says that nothing more comes; `take` returns nil after the last element.
    func close() {
        waiting.withLock { $0.closed = true }
        filled.signal()
    }

    /// The next element, waiting for one; nil once closed and empty.
    func take() -> Element? {
        filled.wait()
        let element: Element? = waiting.withLock { state in
            guard !state.elements.isEmpty else { return nil }
            return state.elements.removeFirst()
        }
        if element != nil { free.signal() }
        return element
    }
}
