/// A parsed JSON document.
///
/// Objects keep their members in document order; when a key repeats, the last
/// occurrence wins (as in Python's `json` and most JSON Schema validators), so
/// carepath and an independent validator read the same document the same way.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The member `key` of an object, or `nil` for a missing member or a non-object.
    @inlinable
    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    /// A short name of the value's JSON type, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number(let n): n.integerValue != nil ? "integer" : "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// The value as a string, or `nil` when it is not one.
    @inlinable
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
}

/// A JSON number: its value as a `Double`, and as an integer when it has an
/// integral value that fits in 64 bits (`7`, `7.0` and `7e0` are all the integer 7,
/// as JSON Schema's `integer` type counts them).
public struct JSONNumber: Sendable, Hashable {
    public let doubleValue: Double
    public let integerValue: Int64?

    @inlinable
    public init(integer: Int64) {
        self.doubleValue = Double(integer)
        self.integerValue = integer
    }

    @inlinable
    public init(double: Double) {
        self.doubleValue = double
        if double.rounded(.towardZero) == double, abs(double) < 9.0e18 {
            self.integerValue = Int64(double)
        } else {
            self.integerValue = nil
        }
    }
}

/// A JSON object's members in document order.
public struct JSONObject: Sendable, Hashable {
    public var members: [(key: String, value: JSONValue)]

    @inlinable
    public init(_ members: [(key: String, value: JSONValue)] = []) {
        self.members = members
    }

    /// The value of `key`; the last one when the key repeats.
    @inlinable
    public subscript(key: String) -> JSONValue? {
        var i = members.count
        while i > 0 {
            i -= 1
            if members[i].key == key { return members[i].value }
        }
        return nil
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.members.count == rhs.members.count else { return false }
        for (l, r) in zip(lhs.members, rhs.members) where l.key != r.key || l.value != r.value {
            return false
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(members.count)
        for member in members {
            hasher.combine(member.key)
            hasher.combine(member.value)
        }
    }
}
