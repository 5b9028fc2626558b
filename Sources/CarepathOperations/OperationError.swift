/// An operator's command could not do what was asked: what was wrong and what to do.
public struct OperationError: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
