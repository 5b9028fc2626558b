/// One input message as it arrived, before carepath reads it: what every
/// transport gives and nothing that only one of them has.
///
/// The runtime turns each Kafka message into one at its edge; a line of the
/// file `carepath evaluate` reads is one with no headers and no key. Which
/// format reads it, and how, is ``InputFormat``'s business.
public struct InputRecord: Sendable, Hashable {
    /// One header: a name and the bytes it carries.
    public struct Header: Sendable, Hashable {
        public var name: String
        public var value: [UInt8]

        /// - Parameters:
        ///   - name: the header's name, as sent.
        ///   - value: its bytes, as sent (they need not be UTF-8).
        public init(_ name: String, _ value: [UInt8]) {
            self.name = name
            self.value = value
        }

        /// A header whose value is the UTF-8 of `value`.
        public init(_ name: String, _ value: String) { self.init(name, Array(value.utf8)) }

        /// Whether the header is called `name`, ignoring ASCII case (`name` in lower case).
        func isNamed(_ name: String) -> Bool { InputRecord.lowercased(self.name) == name }
    }

    /// Where a record was read.
    public struct Position: Sendable, Hashable {
        /// The topic; for a line of a file, the input topic it stands for.
        public var topic: String
        /// The partition; `nil` for a line of a file.
        public var partition: Int?
        /// The offset; for a line of a file, its 0-based line number.
        public var offset: Int64

        public init(topic: String, partition: Int?, offset: Int64) {
            self.topic = topic
            self.partition = partition
            self.offset = offset
        }
    }

    /// The message's value (Kafka) or the line (a file), as received.
    public var bytes: [UInt8]
    /// The headers, in the order they were sent; a name may repeat.
    public var headers: [Header]
    /// The key, when the message had one.
    public var key: [UInt8]?
    public var position: Position

    /// - Parameters:
    ///   - bytes: the value as received.
    ///   - headers: the headers in the order they were sent.
    ///   - key: the key, `nil` when there was none.
    ///   - position: where it was read.
    public init(bytes: [UInt8], headers: [Header] = [], key: [UInt8]? = nil, position: Position) {
        self.bytes = bytes
        self.headers = headers
        self.key = key
        self.position = position
    }

    /// The headers called `name`, ignoring ASCII case, in order.
    /// - Parameter name: the name in lower case, e.g. `content-type`.
    public func headers(named name: String) -> [Header] {
        headers.filter { $0.isNamed(name) }
    }

    /// `name` with ASCII letters in lower case (header names are ASCII; other bytes stay).
    static func lowercased(_ name: String) -> String {
        guard name.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) else { return name }
        return String(decoding: name.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }, as: UTF8.self)
    }
}
