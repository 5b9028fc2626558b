/// A deterministic JSON writer: members come out in the order they are
/// written, numbers and strings in one canonical form, no white space.
///
/// The same sequence of calls always yields the same bytes, which is what
/// makes carepath's outputs byte-for-byte reproducible.
///
/// ```swift
/// var w = JSONWriter()
/// w.object { o in
///     o.field("id", "rec-1")
///     o.field("revision", 2)
/// }
/// // {"id":"rec-1","revision":2}
/// ```
public struct JSONWriter: Sendable {
    public var bytes: [UInt8]

    public init(capacity: Int = 512) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// A copy of the bytes written so far in a new array of exactly their size
    /// (``bytes`` may hold spare capacity, and keeps it for the next document).
    public var exactBytes: [UInt8] {
        bytes.withUnsafeBufferPointer { source in
            [UInt8](unsafeUninitializedCapacity: source.count) { target, count in
                count = target.initialize(fromContentsOf: source)
            }
        }
    }

    /// The bytes written so far, as a string.
    public var string: String { String(decoding: bytes, as: UTF8.self) }

    // MARK: Scalars

    @inlinable
    public mutating func null() { append("null") }

    @inlinable
    public mutating func bool(_ value: Bool) { append(value ? "true" : "false") }

    public mutating func int(_ value: Int) {
        if value == 0 {
            bytes.append(UInt8(ascii: "0"))
            return
        }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            while magnitude > 0 {
                buffer[19 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            }
        }
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        withUnsafeBytes(of: &digits) { buffer in
            bytes.append(contentsOf: buffer[(20 - count)...])
        }
    }

    /// Writes a number: integral values without a fraction, others in Swift's
    /// shortest round-tripping form.
    public mutating func number(_ value: Double) {
        if value.rounded(.towardZero) == value, abs(value) < 9.0e15 {
            int(Int(value))
        } else {
            bytes.append(contentsOf: value.description.utf8)
        }
    }

    /// Writes a string with JSON escaping: `"`, `\` and control characters are
    /// escaped; everything else is written as UTF-8.
    public mutating func string(_ value: String) {
        // Native strings lend their UTF-8 in place; others are made contiguous first.
        if value.utf8.withContiguousStorageIfAvailable({ escaped($0) }) == nil {
            var value = value
            value.withUTF8 { escaped($0) }
        }
    }

    /// Writes UTF-8 bytes as a JSON string, escaped as ``string(_:)`` escapes.
    ///
    /// Most strings carepath writes need no escaping at all: runs without an
    /// escape are found eight bytes at a time and appended in one copy.
    public mutating func escaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(ascii: "\""))
        var runStart = 0
        var i = Self.firstEscape(in: utf8, from: 0)
        while i < utf8.count {
            let b = utf8[i]
            if runStart < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i])) }
            runStart = i + 1
            switch b {
            case UInt8(ascii: "\""): append("\\\"")
            case UInt8(ascii: "\\"): append("\\\\")
            case 0x0A: append("\\n")
            case 0x0D: append("\\r")
            case 0x09: append("\\t")
            case 0x08: append("\\b")
            case 0x0C: append("\\f")
            default:
                append("\\u00")
                bytes.append(Self.hexDigit(b >> 4))
                bytes.append(Self.hexDigit(b & 0x0F))
            }
            i = Self.firstEscape(in: utf8, from: i + 1)
        }
        if runStart < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...])) }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Writes an object member's start, `"key":` (after a `,` when `comma` is
    /// set), and when given a string `value`, `"value"` too: the bytes of
    /// separate writes, staged on the stack and appended in one copy when they
    /// are short and need no escaping (most members are).
    @usableFromInline
    mutating func member(_ key: String, comma: Bool, value: String? = nil) {
        let staged = key.utf8.withContiguousStorageIfAvailable { key in
            guard let value else { return stage(comma: comma, key: key, value: nil) }
            return value.utf8.withContiguousStorageIfAvailable { stage(comma: comma, key: key, value: $0) } ?? false
        }
        guard staged != true else { return }
        if comma { bytes.append(UInt8(ascii: ",")) }
        string(key)
        bytes.append(UInt8(ascii: ":"))
        if let value { string(value) }
    }

    /// ``member(_:comma:value:)`` with the value's UTF-8 given directly.
    @usableFromInline
    mutating func member(_ key: String, comma: Bool, utf8 value: UnsafeBufferPointer<UInt8>) {
        let staged = key.utf8.withContiguousStorageIfAvailable { stage(comma: comma, key: $0, value: value) }
        guard staged != true else { return }
        if comma { bytes.append(UInt8(ascii: ",")) }
        string(key)
        bytes.append(UInt8(ascii: ":"))
        escaped(value)
    }

    /// The most bytes ``member(_:comma:value:)`` stages.
    private static let stageCapacity = 128

    /// Appends `,"key":"value"` in one copy; `false`, having written nothing,
    /// when that is too long or needs escaping.
    ///
    /// Key and value are copied onto the stack eight bytes at a time, and each
    /// word is tested for bytes that need escaping as it goes: one pass over
    /// them, then one append.
    private mutating func stage(comma: Bool, key: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>?) -> Bool {
        let count = (comma ? 1 : 0) + key.count + 3 + (value.map { $0.count + 2 } ?? 0)
        guard count <= Self.stageCapacity else { return false }
        return withUnsafeTemporaryAllocation(byteCount: Self.stageCapacity, alignment: 8) { buffer in
            let out = buffer.baseAddress!
            var n = 0
            var escapes: UInt64 = 0
            if comma {
                out.storeBytes(of: UInt8(ascii: ","), toByteOffset: n, as: UInt8.self)
                n += 1
            }
            out.storeBytes(of: UInt8(ascii: "\""), toByteOffset: n, as: UInt8.self)
            n += 1
            escapes |= Self.copy(key, to: out + n)
            n += key.count
            out.storeBytes(of: UInt8(ascii: "\""), toByteOffset: n, as: UInt8.self)
            out.storeBytes(of: UInt8(ascii: ":"), toByteOffset: n + 1, as: UInt8.self)
            n += 2
            if let value {
                out.storeBytes(of: UInt8(ascii: "\""), toByteOffset: n, as: UInt8.self)
                n += 1
                escapes |= Self.copy(value, to: out + n)
                n += value.count
                out.storeBytes(of: UInt8(ascii: "\""), toByteOffset: n, as: UInt8.self)
                n += 1
            }
            guard escapes == 0 else { return false }
            bytes.append(contentsOf: UnsafeRawBufferPointer(start: out, count: n).bindMemory(to: UInt8.self))
            return true
        }
    }

    /// Copies `run` to `target` and tells whether any byte of it needs escaping
    /// (nonzero when one does). Whole words are copied while they are tested;
    /// `target` must have room for `run.count` bytes.
    @inline(__always)
    private static func copy(_ run: UnsafeBufferPointer<UInt8>, to target: UnsafeMutableRawPointer) -> UInt64 {
        guard let base = run.baseAddress else { return 0 }
        let source = UnsafeRawPointer(base)
        var escapes: UInt64 = 0
        var i = 0
        while i &+ 8 <= run.count {
            let word = source.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            target.storeBytes(of: word, toByteOffset: i, as: UInt64.self)
            escapes |= escapeBits(word)
            i &+= 8
        }
        // The last 0-7 bytes as at most three pieces of 4, 2 and 1 bytes, each
        // tested as a word whose other bytes are a harmless "A".
        let pad: UInt64 = 0x4141_4141_4141_4141
        if run.count &- i >= 4 {
            let piece = source.loadUnaligned(fromByteOffset: i, as: UInt32.self)
            target.storeBytes(of: piece, toByteOffset: i, as: UInt32.self)
            escapes |= escapeBits(UInt64(piece) | (pad & ~0xFFFF_FFFF))
            i &+= 4
        }
        if run.count &- i >= 2 {
            let piece = source.loadUnaligned(fromByteOffset: i, as: UInt16.self)
            target.storeBytes(of: piece, toByteOffset: i, as: UInt16.self)
            escapes |= escapeBits(UInt64(piece) | (pad & ~0xFFFF))
            i &+= 2
        }
        if i < run.count {
            let piece = base[i]
            target.storeBytes(of: piece, toByteOffset: i, as: UInt8.self)
            escapes |= escapeBits(UInt64(piece) | (pad & ~0xFF))
        }
        return escapes
    }

    /// The index of the first byte at or after `start` that JSON requires to be
    /// escaped (`"`, `\`, or below 0x20), or `utf8.count` when there is none.
    @inline(__always)
    static func firstEscape(in utf8: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var i = start
        if let base = utf8.baseAddress {
            // Eight bytes at a time (SWAR): the classic "has a zero byte" and
            // "has a byte below n" tests; a hit falls through to the byte loop.
            let raw = UnsafeRawPointer(base)
            while i &+ 8 <= utf8.count {
                let word = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                if Self.mayNeedEscape(word) { break }
                i &+= 8
            }
            // Fewer than eight bytes left, none of them a hit yet: test the word that
            // ends at the end (it overlaps bytes already found clean).
            if i &+ 8 > utf8.count, i < utf8.count, utf8.count >= 8,
               !Self.mayNeedEscape(raw.loadUnaligned(fromByteOffset: utf8.count &- 8, as: UInt64.self)) {
                return utf8.count
            }
        }
        while i < utf8.count {
            let b = utf8[i]
            if b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") { return i }
            i &+= 1
        }
        return i
    }

    /// Whether any of the eight bytes of `word` is `"`, `\` or below 0x20 (exact).
    @inline(__always)
    static func mayNeedEscape(_ word: UInt64) -> Bool { escapeBits(word) != 0 }

    /// Nonzero exactly when one of the eight bytes of `word` is `"`, `\` or
    /// below 0x20 (the classic "has a zero byte" and "has a byte below n" tests).
    @inline(__always)
    static func escapeBits(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let control = (word &- ones &* 0x20) & ~word & highs
        let quote = word ^ (ones &* UInt64(UInt8(ascii: "\"")))
        let backslash = word ^ (ones &* UInt64(UInt8(ascii: "\\")))
        let quotes = (quote &- ones) & ~quote & highs
        let backslashes = (backslash &- ones) & ~backslash & highs
        return control | quotes | backslashes
    }

    /// Appends bytes that are already a JSON value (for example a stored document).
    public mutating func raw(_ json: some Sequence<UInt8>) { bytes.append(contentsOf: json) }

    /// Writes any parsed JSON value, members in their stored order.
    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: null()
        case .bool(let b): bool(b)
        case .number(let n):
            if let i = n.integerValue { int(Int(i)) } else { number(n.doubleValue) }
        case .string(let s): string(s)
        case .array(let elements):
            array { a in
                for element in elements { a.element { $0.value(element) } }
            }
        case .object(let object):
            self.object { o in
                for member in object.members { o.field(member.key) { $0.value(member.value) } }
            }
        }
    }

    // MARK: Containers

    /// Writes an object whose members `body` adds.
    @inlinable
    public mutating func object(_ body: (inout ObjectWriter) -> Void) {
        bytes.append(UInt8(ascii: "{"))
        var members = ObjectWriter(writer: self)
        bytes = []
        body(&members)
        self = members.writer
        members.writer.bytes = []  // drop the second reference, so the append below does not copy
        bytes.append(UInt8(ascii: "}"))
    }

    /// Writes an array whose elements `body` adds.
    @inlinable
    public mutating func array(_ body: (inout ArrayWriter) -> Void) {
        bytes.append(UInt8(ascii: "["))
        var elements = ArrayWriter(writer: self)
        bytes = []
        body(&elements)
        self = elements.writer
        elements.writer.bytes = []  // drop the second reference, so the append below does not copy
        bytes.append(UInt8(ascii: "]"))
    }

    /// Writes an array of strings.
    public mutating func strings(_ values: [String]) {
        array { a in
            for v in values { a.element { $0.string(v) } }
        }
    }

    @inlinable
    mutating func append(_ literal: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    /// Adds the members of an object.
    public struct ObjectWriter: Sendable {
        @usableFromInline var writer: JSONWriter
        @usableFromInline var first = true

        @usableFromInline init(writer: JSONWriter) { self.writer = writer }

        @inlinable
        mutating func key(_ key: String) {
            writer.member(key, comma: !first)
            first = false
        }

        /// A member whose value `body` writes.
        @inlinable
        public mutating func field(_ key: String, _ body: (inout JSONWriter) -> Void) {
            self.key(key)
            body(&writer)
        }

        public mutating func field(_ key: String, _ value: String) {
            writer.member(key, comma: !first, value: value)
            first = false
        }
        /// A member whose value is the string of these UTF-8 bytes (escaped as ``JSONWriter/string(_:)`` escapes).
        public mutating func field(_ key: String, utf8 value: UnsafeBufferPointer<UInt8>) {
            writer.member(key, comma: !first, utf8: value)
            first = false
        }

        public mutating func field(_ key: String, _ value: Int) { self.key(key); writer.int(value) }
        public mutating func field(_ key: String, _ value: Bool) { self.key(key); writer.bool(value) }
        public mutating func field(_ key: String, _ value: Double) { self.key(key); writer.number(value) }
        public mutating func field(_ key: String, _ value: JSONValue) { self.key(key); writer.value(value) }
        public mutating func field(_ key: String, strings: [String]) { self.key(key); writer.strings(strings) }
        public mutating func nullField(_ key: String) { self.key(key); writer.null() }

        /// A member written only when `value` is not `nil`.
        public mutating func optional(_ key: String, _ value: String?) { if let value { field(key, value) } }
        public mutating func optional(_ key: String, _ value: Int?) { if let value { field(key, value) } }
        public mutating func optional(_ key: String, _ value: Bool?) { if let value { field(key, value) } }
        public mutating func optional(_ key: String, _ value: Double?) { if let value { field(key, value) } }

        /// A member whose value is `null` when `value` is `nil`.
        public mutating func nullable(_ key: String, _ value: String?) {
            if let value { field(key, value) } else { nullField(key) }
        }
        public mutating func nullable(_ key: String, _ value: Int?) {
            if let value { field(key, value) } else { nullField(key) }
        }
    }

    /// Adds the elements of an array.
    public struct ArrayWriter: Sendable {
        @usableFromInline var writer: JSONWriter
        @usableFromInline var first = true

        @usableFromInline init(writer: JSONWriter) { self.writer = writer }

        /// An element that `body` writes.
        @inlinable
        public mutating func element(_ body: (inout JSONWriter) -> Void) {
            if first { first = false } else { writer.bytes.append(UInt8(ascii: ",")) }
            body(&writer)
        }
    }
}
