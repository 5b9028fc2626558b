/// The open tracks of a patient: a set of ``Track`` kept as one bit per track,
/// iterated most acute first.
///
/// Every decision asks which tracks are open and which is the most acute
/// (``PatientState/derivedState``); as bits, both are one instruction rather
/// than a hash-table walk.
public struct TrackSet: Sendable, Hashable, Sequence, ExpressibleByArrayLiteral {
    /// Bit `n` set: the track of precedence `n` is open.
    private var bits: UInt16 = 0

    public init() {}

    public init(arrayLiteral tracks: Track...) {
        for track in tracks { insert(track) }
    }

    public var isEmpty: Bool { bits == 0 }
    public var count: Int { bits.nonzeroBitCount }

    public func contains(_ track: Track) -> Bool { bits & Self.bit(track) != 0 }

    /// No track is in both sets.
    public func isDisjoint(with other: TrackSet) -> Bool { bits & other.bits == 0 }

    public mutating func insert(_ track: Track) { bits |= Self.bit(track) }

    public mutating func remove(_ track: Track) { bits &= ~Self.bit(track) }

    /// The most acute open track, `nil` when none is open.
    public func min() -> Track? { bits == 0 ? nil : Self.byPrecedence[bits.trailingZeroBitCount] }

    public func makeIterator() -> Iterator { Iterator(bits: bits) }

    /// The open tracks, most acute first.
    public struct Iterator: IteratorProtocol {
        var bits: UInt16

        public mutating func next() -> Track? {
            guard bits != 0 else { return nil }
            let track = TrackSet.byPrecedence[bits.trailingZeroBitCount]
            bits &= bits &- 1
            return track
        }
    }

    private static func bit(_ track: Track) -> UInt16 { 1 << UInt16(track.precedence) }

    /// Every state, indexed by its precedence.
    private static let byPrecedence: [PathwayState] = PathwayState.allCases.sorted { $0.precedence < $1.precedence }
}
