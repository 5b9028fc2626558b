import CSQLite
import Glibc

/// One SQLite connection. Not thread-safe: ``SQLiteEventStore`` confines it to
/// one serial queue.
final class SQLiteConnection {
    private var handle: OpaquePointer?
    let path: String
    private var statements: [String: SQLiteStatement] = [:]

    /// Opens (and creates, owner-only, when missing) a database file.
    /// - Throws: ``StoreError/unavailable(_:)`` naming the path and SQLite's message.
    init(path: String) throws(StoreError) {
        self.path = path
        if path != ":memory:" {
            // Create the file ourselves so that it is owner-only from the start;
            // SQLite gives its -wal and -shm files the same permissions.
            let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                throw .unavailable("cannot create or open the store at \(path): \(String(cString: strerror(errno))); check that its folder exists and is writable")
            }
            Glibc.close(fd)
        }
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(db)
            throw .unavailable("cannot open the store at \(path): \(message)")
        }
        handle = db
        sqlite3_busy_timeout(db, 5_000)
    }

    deinit {
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    func close() {
        statements.removeAll()
        sqlite3_close_v2(handle)
        handle = nil
    }

    /// Runs SQL without results (may hold several statements).
    func execute(_ sql: String) throws(StoreError) {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(message)
            throw .failed(text)
        }
    }

    /// A cached prepared statement for `sql`, reset and unbound.
    func statement(_ sql: String) throws(StoreError) -> SQLiteStatement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw .failed("\(errorMessage) in: \(sql)") }
        let statement = SQLiteStatement(stmt, connection: self)
        statements[sql] = statement
        return statement
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    var errorMessage: String { String(cString: sqlite3_errmsg(handle)) }
    var changes: Int { Int(sqlite3_changes(handle)) }

    /// The rowid of the last row this connection inserted.
    var lastInsertedRowId: Int64 { sqlite3_last_insert_rowid(handle) }
}

/// A prepared statement with 1-based binding and 0-based column reads.
final class SQLiteStatement {
    private let stmt: OpaquePointer
    private unowned let connection: SQLiteConnection

    init(_ stmt: OpaquePointer, connection: SQLiteConnection) {
        self.stmt = stmt
        self.connection = connection
    }

    deinit { sqlite3_finalize(stmt) }

    func reset() {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
    }

    func bind(_ index: Int32, _ value: String?) {
        guard let value else { sqlite3_bind_null(stmt, index); return }
        var text = value
        text.withUTF8 { buffer in
            _ = buffer.withMemoryRebound(to: CChar.self) {
                carepath_sqlite_bind_text(stmt, index, $0.baseAddress, Int32($0.count))
            }
        }
    }

    func bind(_ index: Int32, _ value: Int64?) {
        guard let value else { sqlite3_bind_null(stmt, index); return }
        sqlite3_bind_int64(stmt, index, value)
    }

    func bind(_ index: Int32, _ value: Int) { sqlite3_bind_int64(stmt, index, Int64(value)) }

    func bind(_ index: Int32, bytes: [UInt8]) {
        bytes.withUnsafeBytes { _ = carepath_sqlite_bind_blob(stmt, index, $0.baseAddress, Int32($0.count)) }
    }

    /// Steps once: `true` when a row is available.
    @discardableResult
    func step() throws(StoreError) -> Bool {
        switch sqlite3_step(stmt) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let rc:
            let message = connection.errorMessage
            sqlite3_reset(stmt)
            if rc == SQLITE_CONSTRAINT || (rc & 0xFF) == SQLITE_CONSTRAINT { throw .constraint(message) }
            throw .failed(message)
        }
    }

    /// Runs a statement that returns no rows.
    func run() throws(StoreError) {
        try step()
        sqlite3_reset(stmt)
    }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(stmt, column) == SQLITE_NULL }
    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(stmt, column) }
    func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(stmt, column)) }

    func string(_ column: Int32) -> String {
        guard let text = sqlite3_column_text(stmt, column) else { return "" }
        let count = Int(sqlite3_column_bytes(stmt, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    func optionalString(_ column: Int32) -> String? { isNull(column) ? nil : string(column) }
    func optionalInt64(_ column: Int32) -> Int64? { isNull(column) ? nil : int64(column) }

    func bytes(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(stmt, column))
        guard count > 0, let blob = sqlite3_column_blob(stmt, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: blob, count: count))
    }
}

// MARK: - The store's queues

/// How ``SQLiteEventStore`` reaches its connections: each one confined to
/// its serial queue, the caller suspended (not blocked) until the work is done.
extension SQLiteEventStore {

    func perform<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws(StoreError) -> T) async throws(StoreError) -> T {
        let result: Result<T, StoreError> = await withCheckedContinuation { continuation in
            queue.async {
                guard let connection = self.connection else {
                    continuation.resume(returning: .failure(.unavailable("the store at \(self.path) is closed")))
                    return
                }
                continuation.resume(returning: Result { () throws(StoreError) -> T in try body(connection) })
            }
        }
        return try result.get()
    }

    /// Runs `body` on the reading connection, beside whatever the writer is
    /// doing; on the writer's queue for an in-memory store.
    func performRead<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws(StoreError) -> T) async throws(StoreError) -> T {
        guard readsBeside else { return try await perform(body) }
        let result: Result<T, StoreError> = await withCheckedContinuation { continuation in
            readQueue.async {
                guard let reader = self.reader else {
                    continuation.resume(returning: .failure(.unavailable("the store at \(self.path) is closed")))
                    return
                }
                continuation.resume(returning: Result { () throws(StoreError) -> T in try body(reader) })
            }
        }
        return try result.get()
    }
}
