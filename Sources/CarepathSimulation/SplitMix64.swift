/// SplitMix64 (Steele, Lea & Flood 2014): a tiny, fast, seedable pseudo-random
/// generator. The same seed always gives the same sequence, on every platform
/// and Swift version, because every derived draw (``below(_:)``,
/// ``int(in:)``, ``unit()``, ``chance(_:)``) is implemented here rather than
/// by the standard library.
///
/// Not cryptographic; for synthetic data and property tests only.
public struct SplitMix64: RandomNumberGenerator, Sendable, Hashable {
    /// The internal state; the next output is derived from it.
    public private(set) var state: UInt64

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform value in `0..<bound` (Lemire's unbiased multiply-shift).
    /// - Parameter bound: greater than zero.
    public mutating func below(_ bound: UInt64) -> UInt64 {
        precondition(bound > 0, "bound must be positive")
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
        }
        return m.high
    }

    /// A uniform integer in `range`.
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        let width = UInt64(bitPattern: Int64(range.upperBound) &- Int64(range.lowerBound)) &+ 1
        if width == 0 { return Int(truncatingIfNeeded: next()) }  // the whole Int64 range
        return range.lowerBound &+ Int(truncatingIfNeeded: below(width))
    }

    /// A uniform `Double` in `[0, 1)` with 53 random bits.
    public mutating func unit() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `true` with probability `p`.
    public mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// One element of a non-empty array, uniformly.
    public mutating func pick<T>(_ items: [T]) -> T {
        items[Int(below(UInt64(items.count)))]
    }

    /// One element of a non-empty list, with probability proportional to its weight.
    public mutating func weighted<T>(_ items: [(T, Int)]) -> T {
        let total = items.reduce(0) { $0 + $1.1 }
        var r = Int(below(UInt64(total)))
        for (item, weight) in items {
            if r < weight { return item }
            r -= weight
        }
        return items[items.count - 1].0
    }

    /// An independent generator for stream `n` of `seed`: the same `(seed, n)`
    /// always gives the same generator, and nearby `n` give unrelated sequences.
    public static func stream(seed: UInt64, _ n: UInt64) -> SplitMix64 {
        var mixer = SplitMix64(seed: seed ^ 0xD1B5_4A32_D192_ED03)
        let a = mixer.next()
        var child = SplitMix64(seed: a &+ n &* 0xA24B_AED4_963E_E407)
        _ = child.next()
        return SplitMix64(seed: child.next())
    }
}
