import CarepathJSON
import Pathway

extension StoredEventCodec {
    /// Reads the members of one stored JSON object, naming the JSON path of
    /// whatever is wrong.
    ///
    /// It checks what is needed to build the value and nothing more: a member's
    /// JSON type, that an enumeration value is one this release knows, that a
    /// time parses. Numbers are not held to any range, strings to no format, and
    /// members it does not ask for are ignored: the store reads back what a
    /// release decided and wrote, whatever today's input validation would say
    /// of it. `null` counts as absent.
    struct Reader {
        let object: JSONObject
        let path: String

        init(_ object: JSONObject, path: String) {
            self.object = object
            self.path = path
        }

        /// The top-level object of stored bytes.
        /// - Throws: ``DecodingError`` at `$` when the bytes are not a JSON object.
        init(parsing bytes: [UInt8]) throws(DecodingError) {
            let value: JSONValue
            do {
                value = try JSONParser.parse(bytes)
            } catch {
                throw DecodingError(at: "$", "not valid JSON: \(error.description)")
            }
            guard case .object(let object) = value else {
                throw DecodingError(at: "$", "a stored domain event is a JSON object; these bytes hold a JSON \(value.typeName)")
            }
            self.init(object, path: "$")
        }

        func at(_ key: String) -> String { path + "." + key }

        /// The member, or `nil` when it is absent or `null`.
        func present(_ key: String) -> JSONValue? {
            guard let value = object[key] else { return nil }
            if case .null = value { return nil }
            return value
        }

        /// The member as it is, `null` included.
        func required(_ key: String) throws(DecodingError) -> JSONValue {
            guard let value = object[key] else { throw DecodingError(at: at(key), "\(key) is missing") }
            return value
        }

        private func wrong(_ key: String, _ expected: String) -> DecodingError {
            DecodingError(at: at(key), "\(key) must be \(expected)")
        }

        private func present(_ key: String, _ expected: String) throws(DecodingError) -> JSONValue {
            guard let value = present(key) else { throw DecodingError(at: at(key), "\(key) is missing (\(expected))") }
            return value
        }

        func string(_ key: String) throws(DecodingError) -> String {
            guard case .string(let s) = try present(key, "a string") else { throw wrong(key, "a string") }
            return s
        }

        func optionalString(_ key: String) throws(DecodingError) -> String? {
            guard let value = present(key) else { return nil }
            guard case .string(let s) = value else { throw wrong(key, "a string or null") }
            return s
        }

        func int(_ key: String) throws(DecodingError) -> Int {
            guard case .number(let n) = try present(key, "an integer"), let i = n.integerValue else {
                throw wrong(key, "an integer")
            }
            return Int(i)
        }

        func optionalInt(_ key: String) throws(DecodingError) -> Int? {
            guard let value = present(key) else { return nil }
            guard case .number(let n) = value, let i = n.integerValue else { throw wrong(key, "an integer or null") }
            return Int(i)
        }

        func optionalDouble(_ key: String) throws(DecodingError) -> Double? {
            guard let value = present(key) else { return nil }
            guard case .number(let n) = value else { throw wrong(key, "a number or null") }
            return n.doubleValue
        }

        func optionalBool(_ key: String) throws(DecodingError) -> Bool? {
            guard let value = present(key) else { return nil }
            guard case .bool(let b) = value else { throw wrong(key, "true, false or null") }
            return b
        }

        func timestamp(_ key: String) throws(DecodingError) -> Timestamp {
            guard case .string(let s) = try present(key, "an RFC 3339 date-time"), let t = Timestamp(rfc3339: s) else {
                throw wrong(key, "an RFC 3339 date-time with an offset")
            }
            return t
        }

        func enumeration<E: RawRepresentable & CaseIterable>(_ key: String) throws(DecodingError) -> E where E.RawValue == String {
            try enumValue(key, try present(key, "a string"))
        }

        func optionalEnumeration<E: RawRepresentable & CaseIterable>(_ key: String) throws(DecodingError) -> E?
        where E.RawValue == String {
            guard let value = present(key) else { return nil }
            return try enumValue(key, value) as E
        }

        private func enumValue<E: RawRepresentable & CaseIterable>(_ key: String, _ value: JSONValue) throws(DecodingError) -> E
        where E.RawValue == String {
            guard case .string(let s) = value else { throw wrong(key, "a string") }
            guard let e = E(rawValue: s) else {
                throw DecodingError(at: at(key), "\"\(s.prefix(64))\" is not a \(key) this carepath knows (\(E.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return e
        }

        func object(_ key: String) throws(DecodingError) -> Reader {
            guard case .object(let o) = try present(key, "an object") else { throw wrong(key, "an object") }
            return Reader(o, path: at(key))
        }

        func optionalObject(_ key: String) throws(DecodingError) -> Reader? {
            guard let value = present(key) else { return nil }
            guard case .object(let o) = value else { throw wrong(key, "an object or null") }
            return Reader(o, path: at(key))
        }

        func strings(_ key: String) throws(DecodingError) -> [String] {
            guard let strings = try optionalStrings(key) else { throw DecodingError(at: at(key), "\(key) is missing (an array of strings)") }
            return strings
        }

        func optionalStrings(_ key: String) throws(DecodingError) -> [String]? {
            guard let value = present(key) else { return nil }
            guard case .array(let elements) = value else { throw wrong(key, "an array of strings") }
            var out: [String] = []
            out.reserveCapacity(elements.count)
            for (i, element) in elements.enumerated() {
                guard case .string(let s) = element else {
                    throw DecodingError(at: "\(at(key))[\(i)]", "\(key) must hold strings only")
                }
                out.append(s)
            }
            return out
        }

        /// The objects of an array member, each read by `element`.
        func objects<T>(_ key: String, _ element: (Reader) throws(DecodingError) -> T) throws(DecodingError) -> [T] {
            guard case .array(let items) = try present(key, "an array of objects") else { throw wrong(key, "an array of objects") }
            var out: [T] = []
            out.reserveCapacity(items.count)
            for (i, item) in items.enumerated() {
                guard case .object(let o) = item else {
                    throw DecodingError(at: "\(at(key))[\(i)]", "\(key) must hold objects only")
                }
                out.append(try element(Reader(o, path: "\(at(key))[\(i)]")))
            }
            return out
        }
    }
}
