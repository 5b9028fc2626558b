public import CarepathJSON
import Crypto

/// A message carepath could not apply, as published on the dead-letter topic
/// (PATHWAY.md section 6).
public struct DeadLetter: Sendable, Hashable {
    /// At most this many bytes of the original payload are kept (64 KiB).
    public static let maximumPayloadBytes = 64 * 1024

    public var rejection: Rejection
    /// Where the message was read: topic, partition (`nil` offline) and offset
    /// (offline, the 0-based line number).
    public var topic: String
    public var partition: Int?
    public var offset: Int64
    public var key: String?
    public var payload: String
    public var payloadEncoding: String
    public var payloadTruncated: Bool
    public var payloadSha256: String
    public var receivedAt: Timestamp?
    /// The refused message's `id`, when it has a readable one (its causation id).
    public var inputId: String?
    /// The headers the event was read from (``DecodedInput/eventHeaders``):
    /// with the payload, what it takes to send the message again as it came.
    /// Written only when there are any (a binary-mode CloudEvent, or a
    /// structured one whose `content-type` header gave its `datacontenttype`),
    /// so any other dead letter has exactly the fields of PATHWAY.md section 6.
    public var headers: [KeptHeader]

    /// A header of the refused message, as its dead letter keeps it.
    public struct KeptHeader: Sendable, Hashable {
        public var name: String
        /// The value as UTF-8 text, or base64 when it is not UTF-8.
        public var value: String
        /// `utf8` or `base64`.
        public var valueEncoding: String
        /// Whether the value was cut to fit the dead letter's budget for header values.
        public var valueTruncated: Bool

        public init(name: String, value: String, valueEncoding: String, valueTruncated: Bool) {
            self.name = name
            self.value = value
            self.valueEncoding = valueEncoding
            self.valueTruncated = valueTruncated
        }
    }

    /// Builds the dead letter of a refused message.
    ///
    /// - Parameters:
    ///   - rejection: why it was refused.
    ///   - bytes: the message value as received; at most 64 KiB of it is kept,
    ///     as UTF-8 when it is UTF-8 (cut at a character boundary), else base64.
    ///   - topic: the topic it was read from.
    ///   - partition: its partition, `nil` offline.
    ///   - offset: its offset, or offline its 0-based line number.
    ///   - key: its key.
    ///   - receivedAt: when carepath read it, `nil` offline.
    ///   - inputId: the message's CloudEvents `id`, when readable.
    ///   - headers: the headers the event was read from (``DecodedInput/eventHeaders``);
    ///     at most 64 KiB of their values are kept, in order, each as UTF-8 or base64.
    public init(rejection: Rejection, bytes: [UInt8], topic: String, partition: Int?, offset: Int64, key: String?,
                receivedAt: Timestamp?, inputId: String? = nil, headers: [InputRecord.Header] = []) {
        self.inputId = inputId
        self.rejection = rejection
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.receivedAt = receivedAt
        payloadSha256 = SHA256.hash(data: bytes).hexString
        (payload, payloadEncoding, payloadTruncated) = Self.kept(bytes, limit: Self.maximumPayloadBytes)
        var budget = Self.maximumPayloadBytes
        self.headers = headers.map { header in
            let (value, encoding, truncated) = Self.kept(header.value, limit: budget)
            budget -= min(budget, header.value.count)
            return KeptHeader(name: header.name, value: value, valueEncoding: encoding, valueTruncated: truncated)
        }
    }

    /// At most `limit` bytes of `bytes`: as UTF-8 text when they are UTF-8 (cut
    /// at a character boundary), else as base64.
    private static func kept(_ bytes: [UInt8], limit: Int) -> (text: String, encoding: String, truncated: Bool) {
        if let text = String(validating: bytes, as: UTF8.self) {
            guard bytes.count > limit else { return (text, "utf8", false) }
            var end = limit
            while end > 0, bytes[end] & 0xC0 == 0x80 { end -= 1 }  // do not split a character
            return (String(decoding: bytes[..<end], as: UTF8.self), "utf8", true)
        }
        return (Base64.encode(bytes.prefix(limit)), "base64", bytes.count > limit)
    }

    public func write(to w: inout JSONWriter) {
        w.object { o in
            o.field("reason", rejection.reason.rawValue)
            o.field("path", rejection.path)
            o.field("message", rejection.message)
            o.field("topic", topic)
            o.nullable("partition", partition)
            o.field("offset", Int(offset))
            o.nullable("key", key)
            o.field("payload", payload)
            o.field("payloadEncoding", payloadEncoding)
            o.field("payloadTruncated", payloadTruncated)
            o.field("payloadSha256", payloadSha256)
            o.nullable("receivedAt", receivedAt?.rfc3339)
            if !headers.isEmpty {
                o.field("headers") { w in
                    w.array { a in
                        for header in headers {
                            a.element { e in
                                e.object { h in
                                    h.field("name", header.name)
                                    h.field("value", header.value)
                                    h.field("valueEncoding", header.valueEncoding)
                                    h.field("valueTruncated", header.valueTruncated)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The message for the dead-letter topic. Its `carepath-id` is
    /// `dlq/<topic>/<partition>/<offset>` (offline, `dlq/<topic>/line/<n>`):
    /// a re-send after a crash repeats it.
    public func message(topics: TopicNames = .standard) -> OutputMessage {
        var w = JSONWriter(capacity: payload.utf8.count + 512)
        write(to: &w)
        let position = partition.map { "\($0)/\(offset)" } ?? "line/\(offset)"
        return OutputMessage(topic: topics.deadLetters, key: key, value: w.bytes,
                             carepathId: "dlq/\(topic)/\(position)", causationId: inputId ?? "\(topic)/\(position)")
    }

    /// Reads a dead letter (to validate one).
    /// - Throws: ``Rejection`` naming the first field that is missing or wrong.
    public init(json object: JSONObject) throws(Rejection) {
        let r = FieldReader(object, path: "$")
        try r.closed(["reason", "path", "message", "topic", "partition", "offset", "key", "payload", "payloadEncoding",
                      "payloadTruncated", "payloadSha256", "receivedAt", "headers"])
        let reason: DeadLetterReason = try r.requiredEnum("reason")
        let path = try r.requiredString("path")
        guard path.hasPrefix("$") else { throw Rejection(.invalidField, at: "$.path", "path must be a JSON path starting with $") }
        rejection = Rejection(reason, at: path, try r.requiredString("message"))
        topic = try r.requiredString("topic")
        partition = try r.optionalInteger("partition", 0...Int(Int32.max))
        offset = Int64(try r.requiredInteger("offset", 0...Int.max))
        key = try r.optionalString("key")
        guard case .string(let p)? = r.object["payload"] else {
            throw Rejection(.missingField, at: "$.payload", "payload is required (a string)")
        }
        payload = p
        payloadEncoding = try r.requiredString("payloadEncoding")
        guard payloadEncoding == "utf8" || payloadEncoding == "base64" else {
            throw Rejection(.invalidField, at: "$.payloadEncoding", "payloadEncoding must be utf8 or base64")
        }
        guard case .bool(let truncated)? = r.present("payloadTruncated") else {
            throw Rejection(.invalidField, at: "$.payloadTruncated", "payloadTruncated must be true or false")
        }
        payloadTruncated = truncated
        payloadSha256 = try r.requiredString("payloadSha256")
        guard payloadSha256.utf8.count == 64, payloadSha256.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else {
            throw Rejection(.invalidField, at: "$.payloadSha256", "payloadSha256 must be 64 lowercase hex digits")
        }
        guard object["receivedAt"] != nil, object["partition"] != nil, object["key"] != nil else {
            throw Rejection(.missingField, at: object["receivedAt"] == nil ? "$.receivedAt" : object["partition"] == nil ? "$.partition" : "$.key",
                            "partition, key and receivedAt are required (null when not known)")
        }
        receivedAt = try r.present("receivedAt") == nil ? nil : r.requiredInstant("receivedAt")
        if payloadEncoding == "base64" {
            guard payload.utf8.count <= 87_384, payload.utf8.count % 4 == 0,
                  Base64.isValid(payload) else {
                throw Rejection(.invalidField, at: "$.payload", "a base64 payload must be valid base64 of at most 64 KiB")
            }
        } else if payload.unicodeScalars.count > Self.maximumPayloadBytes {
            throw Rejection(.invalidField, at: "$.payload", "payload must be at most 64 KiB")
        }
        headers = []
        guard let listed = r.present("headers") else { return }
        guard case .array(let elements) = listed, !elements.isEmpty else {
            throw Rejection(.invalidField, at: "$.headers", "headers must be a non-empty array (left out when there are none)")
        }
        for (i, element) in elements.enumerated() {
            let at = "$.headers[\(i)]"
            guard case .object(let member) = element else {
                throw Rejection(.invalidField, at: at, "each header must be an object {name, value, valueEncoding, valueTruncated}")
            }
            let h = FieldReader(member, path: at)
            try h.closed(["name", "value", "valueEncoding", "valueTruncated"])
            let name = try h.requiredString("name")
            guard case .string(let value)? = member["value"] else {
                throw Rejection(.missingField, at: at + ".value", "value is required (a string)")
            }
            let encoding = try h.requiredString("valueEncoding")
            guard encoding == "utf8" || (encoding == "base64" && Base64.isValid(value)) else {
                throw Rejection(.invalidField, at: at + ".valueEncoding", "valueEncoding must be utf8, or base64 with a valid base64 value")
            }
            guard let truncated = try h.optionalBool("valueTruncated") else {
                throw Rejection(.missingField, at: at + ".valueTruncated", "valueTruncated is required (true or false)")
            }
            headers.append(KeptHeader(name: name, value: value, valueEncoding: encoding, valueTruncated: truncated))
        }
    }
}

extension FieldReader {
    func optionalInteger(_ key: String, _ range: ClosedRange<Int>) throws(Rejection) -> Int? {
        guard present(key) != nil else { return nil }
        return try requiredInteger(key, range)
    }
}

/// RFC 4648 base64, for payloads that are not UTF-8.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Whether `text` is padded base64 of the standard alphabet.
    static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count % 4 == 0 else { return false }
        let padding = bytes.reversed().prefix { $0 == UInt8(ascii: "=") }.count
        guard padding <= 2 else { return false }
        return bytes.dropLast(padding).allSatisfy { alphabet.contains($0) }
    }

    static func encode(_ bytes: some Collection<UInt8>) -> String {
        let input = Array(bytes)
        var out = [UInt8]()
        out.reserveCapacity((input.count + 2) / 3 * 4)
        var i = 0
        while i + 2 < input.count {
            let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            i += 3
        }
        let rest = input.count - i
        if rest == 1 {
            let n = UInt32(input[i]) << 16
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
        } else if rest == 2 {
            let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], UInt8(ascii: "=")]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
