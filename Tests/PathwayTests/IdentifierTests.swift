import CarepathJSON
import Testing
@testable import Pathway

/// Ids and fingerprints are stored and published: the digests must stay
/// what an independent SHA-256 gives (values from Python's `hashlib`).
@Suite("Ids and fingerprints")
struct IdentifierTests {
    @Test("recommendation and task ids are 32 hex digits of SHA-256 over patient, code and count")
    func ids() {
        // hashlib.sha256(b"carepath/recommendation/P-1/CONSERVATIVE_MANAGEMENT/1").hexdigest()[:32]
        #expect(Identifiers.recommendation(patientId: "P-1", code: .conservativeManagement, issuance: 1)
            == "rec-ed39a6aadac162a421e308a8bafc2c85")
        // hashlib.sha256("carepath/task/P-é/analgesia/12".encode()).hexdigest()[:32]
        #expect(Identifiers.task(patientId: "P-é", code: .analgesia, request: 12) == "task-65fe9a0f03a41fdf9c9c5c225b8867c3")
        #expect(Identifiers.timer(patientId: "P-1", code: .day90Review, n: 2) == "P-1/day-90-review/2")
    }

    @Test("an input's fingerprint is SHA-256 of its canonical form, whatever its member order and spacing")
    func fingerprint() throws {
        // json.dumps(event, sort_keys=True, separators=(",", ":")), then hashlib.sha256(...).hexdigest()
        let expected = "b6a48d1454c96c4c2288371e256375751383e6613e662b404582449baaca44f6"
        for text in [
            #"{"specversion": "1.0", "id": "e-1", "source": "urn:hospital:emr", "type": "pain.scored", "subject": "P-1", "time": "2026-03-02T10:00:00Z", "data": {"nrs": 7, "onAnalgesics": false}}"#,
            #"{"data":{"onAnalgesics":false,"nrs":7.0},"time":"2026-03-02T10:00:00Z","subject":"P-1","type":"pain.scored","source":"urn:hospital:emr","id":"e-1","specversion":"1.0"}"#,
        ] {
            guard case .object(let object) = try JSONParser.parse(Array(text.utf8)) else {
                Issue.record("not an object")
                continue
            }
            #expect(InputDecoder.fingerprint(of: object) == expected)
        }
    }
}
