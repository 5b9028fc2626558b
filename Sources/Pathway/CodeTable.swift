/// A table keyed by a code enum, stored as one slot per case.
///
/// The pathway state keys a dozen tables by recommendation, task and timer
/// codes and reads them many times per event; a dictionary hashes the key on
/// every read (seeding and finalising a `Hasher`), which profiling showed at
/// about 3% of `carepath evaluate`. A slot per case needs no hashing.
public struct CodeTable<Key: CodeNumbered, Value: Sendable & Hashable>: Sendable, Hashable {
    /// Empty until the first value is set: an empty table allocates nothing.
    private var slots: [Value?] = []

    public init() {}

    public subscript(key: Key) -> Value? {
        get { slots.isEmpty ? nil : slots[Int(key.caseNumber)] }
        set {
            if slots.isEmpty {
                guard newValue != nil else { return }
                slots = Array(repeating: nil, count: Key.allCases.count)
            }
            slots[Int(key.caseNumber)] = newValue
        }
    }

    public subscript(key: Key, default value: @autoclosure () -> Value) -> Value {
        get { self[key] ?? value() }
        set { self[key] = newValue }
    }

    /// The keys with a value, in declaration order.
    public var keys: [Key] { slots.isEmpty ? [] : Key.allCases.filter { slots[Int($0.caseNumber)] != nil } }

    /// The values, in the declaration order of their keys.
    public var values: [Value] { slots.compactMap { $0 } }

    public var isEmpty: Bool { !slots.contains { $0 != nil } }
}

/// A code whose cases are numbered 0, 1, 2, … in declaration order.
public protocol CodeNumbered: CaseIterable, Hashable, Sendable {
    var caseNumber: UInt8 { get }
}

extension RecommendationCode: CodeNumbered {}
extension TaskCode: CodeNumbered {}
extension TimerCode: CodeNumbered {}

/// A set of recommendation codes as one bit per code.
struct CodeSet {
    private var bits: UInt32 = 0

    func contains(_ code: RecommendationCode) -> Bool { bits & (1 << UInt32(code.caseNumber)) != 0 }

    mutating func insert(_ code: RecommendationCode) { bits |= 1 << UInt32(code.caseNumber) }
}
