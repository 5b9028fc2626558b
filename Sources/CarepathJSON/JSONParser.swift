/// Why a byte string is not a JSON document.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The byte offset where reading stopped.
    public let offset: Int
    /// What was wrong there.
    public let message: String

    public var description: String { "\(message) at byte \(offset)" }
}

/// A strict RFC 8259 JSON parser over UTF-8 bytes.
///
/// It rejects what a careful integration engine would never send: invalid
/// UTF-8, lone surrogates, control characters in strings, trailing commas,
/// leading zeros, non-finite numbers, nesting deeper than ``maximumDepth``,
/// and anything after the document but white space.
public struct JSONParser: ~Copyable {
    /// The deepest nesting of arrays and objects accepted.
    public static let maximumDepth = 64

    /// Parses one JSON document.
    /// - Parameter bytes: the UTF-8 encoded document.
    /// - Returns: the document's value.
    /// - Throws: ``JSONSyntaxError`` naming the offset and the problem.
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONSyntaxError) -> JSONValue {
        let result: Result<JSONValue, JSONSyntaxError>? = bytes.withContiguousStorageIfAvailable { buffer in
            Self.parseBuffer(buffer)
        }
        switch result ?? Self.parseBuffer(Array(bytes)) {
        case .success(let value): return value
        case .failure(let error): throw error
        }
    }

    private static func parseBuffer(_ buffer: UnsafeBufferPointer<UInt8>) -> Result<JSONValue, JSONSyntaxError> {
        var parser = JSONParser(buffer)
        do throws(JSONSyntaxError) {
            parser.skipWhitespace()
            let value = try parser.parseValue(depth: 0)
            parser.skipWhitespace()
            if parser.index != parser.end { throw parser.error("unexpected data after the JSON document") }
            return .success(value)
        } catch {
            return .failure(error)
        }
    }

    private static func parseBuffer(_ array: [UInt8]) -> Result<JSONValue, JSONSyntaxError> {
        array.withUnsafeBufferPointer { parseBuffer($0) }
    }

    private let base: UnsafePointer<UInt8>?
    private let end: Int
    private var index = 0

    private init(_ buffer: UnsafeBufferPointer<UInt8>) {
        self.base = buffer.baseAddress
        self.end = buffer.count
    }

    @inline(__always)
    private func byte(_ i: Int) -> UInt8 { base.unsafelyUnwrapped[i] }

    private func error(_ message: String) -> JSONSyntaxError {
        JSONSyntaxError(offset: index, message: message)
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while index < end {
            switch byte(index) {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private mutating func parseValue(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard index < end else { throw error("unexpected end of input") }
        switch byte(index) {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw error("unexpected character")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let count = literal.utf8CodeUnitCount
        guard end - index >= count else { throw error("unexpected end of input") }
        let pointer = literal.utf8Start
        for i in 0..<count where byte(index + i) != pointer[i] {
            throw error("invalid literal")
        }
        index += count
    }

    private mutating func parseObject(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard depth <= Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth)") }
        index += 1
        var members: [(key: String, value: JSONValue)] = []
        skipWhitespace()
        if index < end, byte(index) == UInt8(ascii: "}") {
            index += 1
            return .object(JSONObject(members))
        }
        members.reserveCapacity(8)
        while true {
            skipWhitespace()
            guard index < end, byte(index) == UInt8(ascii: "\"") else { throw error("expected a member name") }
            let key = try parseString()
            skipWhitespace()
            guard index < end, byte(index) == UInt8(ascii: ":") else { throw error("expected ':'") }
            index += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            members.append((key, value))
            skipWhitespace()
            guard index < end else { throw error("unexpected end of input in an object") }
            switch byte(index) {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"): index += 1; return .object(JSONObject(members))
            default: throw error("expected ',' or '}'")
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard depth <= Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth)") }
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < end, byte(index) == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            guard index < end else { throw error("unexpected end of input in an array") }
            switch byte(index) {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"): index += 1; return .array(elements)
            default: throw error("expected ',' or ']'")
            }
        }
    }

    private mutating func parseString() throws(JSONSyntaxError) -> String {
        index += 1  // opening quote
        let start = index
        // Fast path: no escapes, ASCII or valid UTF-8 without control characters.
        var sawEscape = false
        var sawNonASCII = false
        scanning: while index < end {
            // Eight bytes at a time while none is a quote, a backslash, a control
            // character or non-ASCII; then byte by byte through the word that has one.
            while index &+ 8 <= end {
                let word = UnsafeRawPointer(base.unsafelyUnwrapped + index).loadUnaligned(as: UInt64.self)
                if JSONWriter.escapeBits(word) | (word & 0x8080_8080_8080_8080) != 0 { break }
                index &+= 8
            }
            let stop = min(index &+ 8, end)
            while index < stop {
                let b = byte(index)
                if b == UInt8(ascii: "\"") { break scanning }
                if b == UInt8(ascii: "\\") {
                    sawEscape = true
                    index += 2
                    continue
                }
                if b < 0x20 { throw error("control character in a string") }
                if b >= 0x80 { sawNonASCII = true }
                index += 1
            }
        }
        guard index < end else { throw error("unterminated string") }
        let raw = UnsafeBufferPointer(start: base.unsafelyUnwrapped + start, count: index - start)
        index += 1  // closing quote
        if !sawEscape {
            if sawNonASCII {
                guard let s = String(validating: raw, as: UTF8.self) else {
                    index = start
                    throw error("invalid UTF-8 in a string")
                }
                return s
            }
            return String(decoding: raw, as: UTF8.self)
        }
        return try unescape(raw, offset: start)
    }

    private func unescape(_ raw: UnsafeBufferPointer<UInt8>, offset: Int) throws(JSONSyntaxError) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        func fail(_ message: String) -> JSONSyntaxError { JSONSyntaxError(offset: offset + i, message: message) }
        func hex4(_ at: Int) throws(JSONSyntaxError) -> UInt32 {
            guard at + 4 <= raw.count else { throw fail("truncated \\u escape") }
            var value: UInt32 = 0
            for k in 0..<4 {
                let c = raw[at + k]
                let digit: UInt32
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
                default: throw fail("invalid \\u escape")
                }
                value = value << 4 | digit
            }
            return value
        }
        while i < raw.count {
            let b = raw[i]
            guard b == UInt8(ascii: "\\") else {
                out.append(b)
                i += 1
                continue
            }
            guard i + 1 < raw.count else { throw fail("truncated escape") }
            let e = raw[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "/"): out.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4(i)
                i += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    guard i + 6 <= raw.count, raw[i] == UInt8(ascii: "\\"), raw[i + 1] == UInt8(ascii: "u") else {
                        throw fail("lone surrogate in a \\u escape")
                    }
                    let low = try hex4(i + 2)
                    guard (0xDC00...0xDFFF).contains(low) else { throw fail("lone surrogate in a \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw fail("lone surrogate in a \\u escape")
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw fail("invalid \\u escape") }
                out.append(contentsOf: UTF8.encode(unicode).unsafelyUnwrapped)
            default:
                throw fail("invalid escape")
            }
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw fail("invalid UTF-8 in a string") }
        return s
    }

    private mutating func parseNumber() throws(JSONSyntaxError) -> JSONNumber {
        let start = index
        var negative = false
        if byte(index) == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        guard index < end, isDigit(byte(index)) else { throw error("invalid number") }
        var integer: UInt64 = 0
        var overflow = false
        if byte(index) == UInt8(ascii: "0") {
            index += 1
            if index < end, isDigit(byte(index)) { throw error("leading zero in a number") }
        } else {
            while index < end, isDigit(byte(index)) {
                let (m, o1) = integer.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(UInt64(byte(index) - UInt8(ascii: "0")))
                overflow = overflow || o1 || o2
                integer = a
                index += 1
            }
        }
        var isInteger = true
        if index < end, byte(index) == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard index < end, isDigit(byte(index)) else { throw error("invalid number") }
            while index < end, isDigit(byte(index)) { index += 1 }
        }
        if index < end, byte(index) == UInt8(ascii: "e") || byte(index) == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < end, byte(index) == UInt8(ascii: "+") || byte(index) == UInt8(ascii: "-") { index += 1 }
            guard index < end, isDigit(byte(index)) else { throw error("invalid number") }
            while index < end, isDigit(byte(index)) { index += 1 }
        }
        if isInteger, !overflow, integer <= UInt64(Int64.max) {
            let value = Int64(integer)
            return JSONNumber(integer: negative ? -value : value)
        }
        let text = String(decoding: UnsafeBufferPointer(start: base.unsafelyUnwrapped + start, count: index - start), as: UTF8.self)
        guard let double = Double(text), double.isFinite else {
            index = start
            throw error("number out of range")
        }
        return JSONNumber(double: double)
    }

    @inline(__always)
    private func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }
}
