import PostgresNIO

extension PostgresEventStore {
    // MARK: - Errors

    /// SQLSTATE classes and codes that mean the server is gone or not yet
    /// back: connection exceptions (08), an administrator's shutdown or a
    /// server starting or shutting down (57P01-57P03), too many connections (53300).
    private static let unreachableStates: Set<String> = ["57P01", "57P02", "57P03", "53300"]

    /// Whether `error` says that the server could not be reached or the
    /// connection was lost: the work may not have been done, and trying again
    /// once the pool has reconnected is what to do.
    func isConnectionLoss(_ error: any Error) -> Bool {
        if let error = error as? PSQLError {
            switch error.code {
            case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown,
                 .messageDecodingFailure, .unexpectedBackendMessage:
                return true
            case .server:
                let state = error.serverInfo?[.sqlState] ?? ""
                return state.hasPrefix("08") || Self.unreachableStates.contains(state)
            default:
                return false
            }
        }
        if error is StoreError { return false }
        // The pool's own errors (its circuit breaker) and NIO's (connection refused).
        return true
    }

    /// `error` as a ``StoreError`` that says what went wrong and what to do.
    /// - Parameters:
    ///   - error: what postgres-nio (or carepath) threw.
    ///   - what: what was being done.
    func storeError(_ error: any Error, while what: String) -> StoreError {
        if let error = error as? StoreError { return error }
        if isClosed { return .unavailable("the store (\(place)) is closed") }
        if isConnectionLoss(error) {
            return .unavailable("\(place) cannot be reached while \(what) (\(Self.summary(of: error))); the connection pool connects again by itself once the server is back: check that the server runs and accepts connections from this machine, then try again")
        }
        guard let error = error as? PSQLError else { return .failed("\(what): \(String(reflecting: error))") }
        switch error.code {
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            let summary = Self.summary(of: error)
            switch state {
            case _ where state.hasPrefix("23"):
                return .constraint("\(summary) (\(what))")
            case "28P01", "28000":
                return .unavailable("\(place) refused the login of user \(settings.user) (\(summary)): check the user and the password (CAREPATH_STORE_PASSWORD, CAREPATH_STORE_PASSWORD_FILE or the URL) and the server's pg_hba.conf")
            case "3D000":
                return .unavailable("\(place): the database \(settings.database) does not exist; create it (createdb -O \(settings.user) \(settings.database)), carepath then creates its tables")
            case "42501":
                return .unavailable("\(place): user \(settings.user) may not do this (\(summary)) while \(what); grant it the rights on the database, or use its owner")
            case "25006":
                return .failed("\(place) refused a write while \(what): the store was opened read-only")
            default:
                return .failed("\(what): \(summary)")
            }
        case .sslUnsupported:
            return .unavailable("\(place) does not accept TLS connections; enable ssl on the server or use ?sslmode=disable")
        case .authMechanismRequiresPassword:
            return .unavailable("\(place) asks user \(settings.user) for a password and none was given: set CAREPATH_STORE_PASSWORD (or CAREPATH_STORE_PASSWORD_FILE)")
        case .poolClosed:
            return .unavailable("the store (\(place)) is closed")
        default:
            return .failed("\(what): \(Self.summary(of: error))")
        }
    }

    /// What the server or the client said, without the query's parameters
    /// (which may hold clinical data) and never the password.
    static func summary(of error: any Error) -> String {
        guard let error = error as? PSQLError else { return String(describing: error) }
        if let message = error.serverInfo?[.message] {
            let state = error.serverInfo?[.sqlState].map { ", SQLSTATE \($0)" } ?? ""
            let detail = error.serverInfo?[.detail].map { ": \($0)" } ?? ""
            return message + detail + state
        }
        if let underlying = error.underlying { return "\(error.code): \(underlying)" }
        return "\(error.code)"
    }
}
