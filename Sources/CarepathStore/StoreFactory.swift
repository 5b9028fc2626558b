import Glibc
public import Logging

/// Opens the store a ``StoreLocation`` names: the one place that knows the
/// backends. Commands open stores only through it.
public enum StoreFactory {
    /// Opens (and, for a writer, creates and migrates) a store.
    /// - Parameters:
    ///   - location: which store.
    ///   - durability: how hard a SQLite store makes sure a commit survives
    ///     (`CAREPATH_STORE_DURABILITY`); an in-memory store keeps nothing either way.
    ///   - readOnly: for operators' commands beside a running carepath: a
    ///     SQLite file must exist and have this release's schema, and nothing
    ///     is written (see ``SQLiteEventStore/init(path:durability:readOnly:)``).
    ///     An in-memory store cannot be opened read-only: another process's
    ///     in-memory store cannot be reached, and a new one is empty. A
    ///     PostgreSQL database must hold this release's schema; its sessions
    ///     refuse every write.
    ///   - logger: where a store that logs (PostgreSQL: its connection pool,
    ///     reconnects, retried commits) writes; the runtime's own logger, so
    ///     that its lines have the runtime's format.
    /// - Returns: the open store; the caller closes it.
    /// - Throws: ``StoreError/unavailable(_:)`` when the store cannot be opened
    ///   (a missing folder, a missing file for a read-only open, `memory:`
    ///   read-only, an unreachable PostgreSQL server), ``StoreError/newerSchema(found:supported:)``
    ///   or ``StoreError/olderSchema(found:supported:)``.
    public static func open(_ location: StoreLocation, durability: SQLiteEventStore.Durability = .full,
                            readOnly: Bool = false,
                            logger: Logger = Logger(label: "carepath.store")) async throws(StoreError) -> any EventStore {
        switch location {
        case .sqlite(let path):
            if readOnly && path != ":memory:" && access(path, F_OK) != 0 {
                throw .unavailable("no store at \(path); a read-only open never creates one: give the file `carepath run` uses")
            }
            return try SQLiteEventStore(path: path, durability: durability, readOnly: readOnly)
        case .memory:
            guard !readOnly else {
                throw .unavailable("memory: cannot be read here: an in-memory store exists only inside the carepath that created it and is lost when it stops; give the store file `carepath run` uses (a path or sqlite:PATH)")
            }
            return InMemoryEventStore()
        case .postgresql(let settings):
            return try await PostgresEventStore.open(settings, readOnly: readOnly, logger: logger)
        }
    }
}
