import CarepathJSON
import Pathway
import Testing

/// The input format written once: ``InputEvent/writeCloudEvent(to:timeOffsetMinutes:)``
/// writes what ``InputDecoder`` reads.
@Suite("Input events on the wire")
struct InputEncodingTests {
    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test("an event is written as a CloudEvent in the contract's order, its time in the offset asked")
    func writesCloudEvent() throws {
        let event = InputEvent(
            id: "evt-0001", source: "urn:hospital:adt", subject: "P123", time: Timestamp(rfc3339: "2026-03-02T10:15:00Z")!,
            data: .patientPresented(Presentation(
                ageYears: 78, sex: .female, mechanism: .lowEnergy, fractureLevels: ["L1"],
                history: MedicalHistory(knownMalignancy: false, osteoporosis: true, glucocorticoidUse: true), fever: false)),
            fingerprint: "not written")
        let envelope = #"{"specversion":"1.0","id":"evt-0001","source":"urn:hospital:adt","type":"patient.presented","subject":"P123","time":"#
        let data = #""datacontenttype":"application/json","data":{"ageYears":78,"sex":"female","mechanism":"low-energy","fractureLevels":["L1"],"history":{"knownMalignancy":false,"osteoporosis":true,"glucocorticoidUse":true},"fever":false}}"#
        var utc = JSONWriter()
        event.writeCloudEvent(to: &utc)
        #expect(Self.text(utc.bytes) == envelope + #""2026-03-02T10:15:00Z","# + data)
        var local = JSONWriter()
        event.writeCloudEvent(to: &local, timeOffsetMinutes: -270)
        #expect(Self.text(local.bytes) == envelope + #""2026-03-02T05:45:00-04:30","# + data)
        // What the decoder reads is the event written (the fingerprint is the decoder's own).
        var decoded = try InputDecoder.decode(local.bytes)
        #expect(decoded.fingerprint.count == 64)
        decoded.fingerprint = event.fingerprint
        #expect(decoded == event)
    }
}
