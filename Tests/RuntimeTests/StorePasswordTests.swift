import CarepathRuntime
import CarepathStore
import Foundation
import Testing

/// The PostgreSQL password: from the URL, `CAREPATH_STORE_PASSWORD` or a
/// file, given to the store and never printed.
@Suite("The store password is used and masked")
struct StorePasswordTests {
    static func apply(_ settings: [(String, String)]) throws -> RuntimeConfiguration {
        var configuration = RuntimeConfiguration()
        try configuration.apply(settings.map { ($0.0, $0.1, "test") })
        return configuration
    }

    @Test("config check masks a password in the URL and one from CAREPATH_STORE_PASSWORD, and the store still gets it")
    func masked() throws {
        let inURL = try Self.apply([("CAREPATH_STORE", "postgresql://care:hunter2@db:5432/carepath?sslmode=require")])
        let printed = inURL.described().map { "\($0.name)=\($0.value)" }.joined(separator: "\n")
        #expect(!printed.contains("hunter2"))
        #expect(printed.contains("CAREPATH_STORE=postgresql://care:******@db:5432/carepath?sslmode=require"))
        #expect(inURL.storeSettingMasked == "postgresql://care:******@db:5432/carepath?sslmode=require")
        guard case .postgresql(let settings) = try inURL.storeLocation else { Issue.record("not PostgreSQL"); return }
        #expect(settings.password == "hunter2")
        #expect(!"\(try inURL.storeLocation)".contains("hunter2"))

        let fromEnvironment = try Self.apply([("CAREPATH_STORE", "postgres://care@db/carepath"), ("CAREPATH_STORE_PASSWORD", "s3cret!")])
        let described = Dictionary(uniqueKeysWithValues: fromEnvironment.described().map { ($0.name, $0.value) })
        #expect(described["CAREPATH_STORE_PASSWORD"] == "******")
        #expect(!fromEnvironment.described().contains { $0.value.contains("s3cret") })
        guard case .postgresql(let fromEnv) = try fromEnvironment.storeLocation else { Issue.record("not PostgreSQL"); return }
        #expect(fromEnv.password == "s3cret!")
        #expect(RuntimeConfiguration().described().contains { $0.name == "CAREPATH_STORE_PASSWORD" && $0.value == "(none)" })
    }

    @Test("CAREPATH_STORE_PASSWORD_FILE reads the password without its final newline; a missing file is refused")
    func passwordFile() throws {
        let path = NSTemporaryDirectory() + "carepath-password-" + UUID().uuidString
        try "from-a-file\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let configuration = try Self.apply([("CAREPATH_STORE", "postgresql://care@db/carepath"), ("CAREPATH_STORE_PASSWORD_FILE", path)])
        guard case .postgresql(let settings) = try configuration.storeLocation else { Issue.record("not PostgreSQL"); return }
        #expect(settings.password == "from-a-file")
        let described = Dictionary(uniqueKeysWithValues: configuration.described().map { ($0.name, $0.value) })
        #expect(described["CAREPATH_STORE_PASSWORD"] == "****** (from \(path))")
        #expect(!configuration.described().contains { $0.value.contains("from-a-file") })
        #expect {
            _ = try Self.apply([("CAREPATH_STORE_PASSWORD_FILE", path + ".missing")])
        } throws: { "\($0)".contains("cannot read") }
    }
}
