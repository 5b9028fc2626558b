import CarepathStore
import Foundation
import Pathway
import Testing

/// `--store` / `CAREPATH_STORE` settings and the factory that opens them.
@Suite("Store locations and the store factory")
struct StoreLocationTests {
    @Test("a plain path is a SQLite file, as before; sqlite:PATH and memory: name their backends, the scheme in any case",
          arguments: [
              ("carepath.sqlite", StoreLocation.sqlite(path: "carepath.sqlite")),
              ("/var/lib/carepath/store.sqlite", .sqlite(path: "/var/lib/carepath/store.sqlite")),
              ("./data:2026.sqlite", .sqlite(path: "./data:2026.sqlite")),
              ("/data/a:b.sqlite", .sqlite(path: "/data/a:b.sqlite")),
              ("c:store.sqlite", .sqlite(path: "c:store.sqlite")),
              (":memory:", .sqlite(path: ":memory:")),
              ("memory", .sqlite(path: "memory")),
              ("sqlite:/var/lib/carepath/store.sqlite", .sqlite(path: "/var/lib/carepath/store.sqlite")),
              ("sqlite:store.sqlite", .sqlite(path: "store.sqlite")),
              ("SQLite:a:b.sqlite", .sqlite(path: "a:b.sqlite")),
              ("memory:", .memory),
              ("MEMORY:", .memory),
          ])
    func parses(setting: String, expected: StoreLocation) throws {
        #expect(try StoreLocation(parsing: setting) == expected)
    }

    @Test("a setting that names no store says what is wrong and which forms are accepted",
          arguments: [
              ("mysql://db/carepath", "unknown store scheme 'mysql:' in 'mysql://db/carepath'; use a file path, sqlite:PATH, memory: or postgresql://USER@HOST:PORT/DB"),
              ("postgres://db/carepath", "'postgres://db/carepath' names no user: write postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE"),
              ("backup:1.sqlite", "unknown store scheme 'backup:'"),
              ("", "the store setting is empty; give a file path, sqlite:PATH, memory: or postgresql://USER@HOST:PORT/DB"),
              ("sqlite:", "'sqlite:' names no file: write the path after sqlite:"),
              ("sqlite:///var/lib/carepath/store.sqlite", "is written as a URL with //; write sqlite: followed by the path as it is"),
              ("memory:cache", "'memory:cache': an in-memory store has no name or path; write memory: alone"),
          ])
    func refuses(setting: String, message: String) {
        #expect {
            _ = try StoreLocation(parsing: setting)
        } throws: { error in
            (error as? StoreLocationError)?.message.contains(message) == true
        }
    }

    @Test("an unknown scheme's message says how to name a file whose name has a colon")
    func colonFileHint() {
        #expect(throws: StoreLocationError("unknown store scheme 'backup:' in 'backup:1.sqlite'; use a file path, sqlite:PATH, memory: or postgresql://USER@HOST:PORT/DB (a file whose name has a colon: write ./backup:1.sqlite or sqlite:backup:1.sqlite)")) {
            _ = try StoreLocation(parsing: "backup:1.sqlite")
        }
    }

    @Test("a location's canonical form reads back as the same location")
    func canonicalForm() throws {
        for location in [StoreLocation.sqlite(path: "/a/b.sqlite"), .sqlite(path: "x:y"), .memory] {
            #expect(try StoreLocation(parsing: location.description) == location)
        }
        #expect(StoreLocation.memory.description == "memory:")
        #expect(StoreLocation.memory.isPersistent == false)
        #expect(StoreLocation.sqlite(path: "s").isPersistent)
    }

    @Test("the factory opens a SQLite file for sqlite: and a fresh in-memory store for memory:")
    func factoryOpens() async throws {
        let folder = try ScratchFolder()
        let file = try await StoreFactory.open(.sqlite(path: folder.store))
        #expect(file is SQLiteEventStore)
        #expect(FileManager.default.fileExists(atPath: folder.store))
        var batch = StoreBatch(recordedAt: now)
        batch.advance(topic: "clinical.events", partition: 1, to: 4)
        try await file.commit(batch)
        await file.close()
        let reopened = try await StoreFactory.open(try StoreLocation(parsing: "sqlite:" + folder.store), readOnly: true)
        #expect(try await reopened.nextOffsets(topic: "clinical.events") == [1: 4])
        await reopened.close()

        let first = try await StoreFactory.open(.memory)
        #expect(first is InMemoryEventStore)
        try await first.commit(batch)
        let second = try await StoreFactory.open(.memory)
        #expect(try await second.nextOffsets(topic: "clinical.events") == [:], "each memory: store starts empty")
        #expect(try await first.nextOffsets(topic: "clinical.events") == [1: 4])
        await first.close()
        await second.close()
    }

    @Test("a read-only open refuses memory: and a missing file, and creates nothing")
    func factoryReadOnly() async throws {
        let folder = try ScratchFolder()
        await #expect {
            _ = try await StoreFactory.open(.memory, readOnly: true)
        } throws: { error in
            guard case StoreError.unavailable(let message) = error else { return false }
            return message.contains("memory: cannot be read here") && message.contains("give the store file `carepath run` uses")
        }
        await #expect {
            _ = try await StoreFactory.open(.sqlite(path: folder.store), readOnly: true)
        } throws: { error in
            guard case StoreError.unavailable(let message) = error else { return false }
            return message.contains("no store at \(folder.store)")
        }
        #expect(!FileManager.default.fileExists(atPath: folder.store))
    }
}
