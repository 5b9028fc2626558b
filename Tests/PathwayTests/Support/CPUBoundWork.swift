import Dispatch
import Foundation

/// Runs a test's CPU-bound work (thousands of random histories, whole
/// cohorts evaluated) on threads of its own, never on Swift's shared pool.
///
/// Why: the pool has one thread per core, two here, and Swift Testing runs
/// the tests of the whole bundle on it at once. Synchronous work that takes a
/// minute holds a pool thread for that minute, and every other test's tasks
/// (a relay publishing, a server answering, a deadline's sleep ending) wait
/// behind it: in a full run, tests that take milliseconds alone took 65-70 s,
/// and tests with a 20 s deadline failed. On threads of their own, the
/// operating system shares the cores between this work and the pool.
///
/// At most one job per core runs at a time, so the work does not crowd the
/// pool's threads off the cores either. A job waiting for its turn blocks
/// only its own thread.
enum CPUBoundWork {
    private static let turns = DispatchSemaphore(value: max(1, ProcessInfo.processInfo.activeProcessorCount))

    /// Runs `work` on a thread of its own when a turn is free.
    /// - Parameter work: synchronous, CPU-bound work.
    /// - Returns: what `work` returned.
    static func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            let thread = Thread {
                turns.wait()
                let result = work()
                turns.signal()
                continuation.resume(returning: result)
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }
}
