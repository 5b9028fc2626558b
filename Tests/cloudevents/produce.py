#!/usr/bin/env python3
"""Publishes patient histories to carepath's input topic with a producer nobody here wrote:
the CloudEvents Python SDK's Kafka conversions over confluent-kafka.

    python3 Tests/cloudevents/produce.py --bootstrap HOST:PORT [--topic clinical.events] [--manifest FILE]

Each history goes out three times, for three patients:
  - binary mode: attributes in ce_ headers, the data as the value, content-type application/json
    (cloudevents.core.bindings.kafka.to_binary; the second history through the older
    cloudevents.v1.kafka.to_binary, which writes the same headers);
  - structured mode, content-type application/cloudevents+json (cloudevents.core ... to_structured);
  - structured mode as cloudevents.v1.kafka.to_structured sends it: content-type application/json
    (the event's datacontenttype, moved out of the JSON body).
Then a few events again in the other mode (duplicates: carepath must change nothing), and
malformed binary-mode messages, each with the dead letter carepath must publish for it.

The manifest (JSON) says what was sent: the patient of each history in each mode, the
duplicates, and the malformed messages with their expected reason and path. Clinical times
are far in the future, so no timer falls due by the wall clock while a test runs.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import warnings

warnings.simplefilter("ignore", DeprecationWarning)  # cloudevents.v1 is deprecated, and still sent by many producers

try:
    from cloudevents.core.bindings import kafka as binding
    from cloudevents.core.v1.event import CloudEvent
    from cloudevents.v1 import kafka as legacy_binding
    from cloudevents.v1.http import CloudEvent as LegacyCloudEvent
    from confluent_kafka import Producer
except ImportError as exc:  # pragma: no cover
    print(f"produce.py needs cloudevents (2.x) and confluent-kafka: {exc}; `make deps` installs them", file=sys.stderr)
    sys.exit(2)

T0 = datetime.datetime(2090, 3, 2, 8, 0, tzinfo=datetime.timezone.utc)

INTACT = {"motorDeficit": False, "sensoryDeficit": False, "bowelBladderDysfunction": False,
          "spinalCordInjury": False, "asiaGrade": "E", "neuroStatus": "intact"}
FRACTURE = {"compressionFracture": True, "acuity": "acute", "heightLossPercent": 20, "kyphosisDegrees": 8,
            "morphology": "compression", "posteriorLigamentousComplex": "intact", "unstable": False,
            "cordCompression": "none", "suspiciousForMalignancy": False, "discitisOsteomyelitis": False}

# (hours after T0, source, type, data)
HISTORIES = [
    # An osteoporotic fracture into conservative care, pain treated, the spine cleared.
    [
        (0, "urn:hospital:adt", "patient.presented",
         {"ageYears": 74, "sex": "female", "mechanism": "low-energy", "fractureLevels": ["L1"],
          "history": {"osteoporosis": True}, "fever": False}),
        (1, "urn:hospital:ris", "imaging.resulted",
         {"modality": "mri", "contrast": "none", "region": "lumbar", "levels": ["L1"], "findings": FRACTURE}),
        (2, "urn:hospital:emr", "neuro.examined", INTACT),
        (3, "urn:hospital:emr", "pain.assessed", {"nrs": 7, "onAnalgesics": True}),
        (5, "urn:hospital:emr", "spine.cleared", {"cervical": True, "thoracolumbar": True}),
    ],
    # A cord injury with a low MAP: surgery, critical care, precautions.
    [
        (0, "urn:hospital:adt", "patient.presented",
         {"ageYears": 58, "sex": "male", "mechanism": "high-energy-trauma", "fractureLevels": ["T12"]}),
        (1, "urn:hospital:ris", "imaging.resulted",
         {"modality": "ct", "region": "thoracolumbar", "levels": ["T12"],
          "findings": dict(FRACTURE, morphology="burst", posteriorLigamentousComplex="injured",
                           cordCompression="significant", heightLossPercent=45)}),
        (2, "urn:hospital:emr", "neuro.examined",
         {"motorDeficit": True, "sensoryDeficit": True, "bowelBladderDysfunction": False,
          "spinalCordInjury": True, "asiaGrade": "C", "neuroStatus": "cord-incomplete"}),
        (3, "urn:hospital:icu", "vitals.recorded", {"meanArterialPressure": 72, "spo2": 96}),
        (4, "urn:hospital:pharmacy", "medication.changed", {"medication": "norepinephrine", "action": "started"}),
    ],
    # Fever in an injection drug user and discitis on MRI: an infection workup.
    [
        (0, "urn:hospital:adt", "patient.presented",
         {"ageYears": 41, "sex": "other", "mechanism": "atraumatic", "fractureLevels": ["L3"],
          "history": {"injectionDrugUse": True}, "fever": True}),
        (1, "urn:hospital:ris", "imaging.resulted",
         {"modality": "mri", "contrast": "with", "region": "lumbar", "levels": ["L3"],
          "findings": dict(FRACTURE, discitisOsteomyelitis=True)}),
        (2, "urn:hospital:lis", "biopsy.resulted",
         {"specimen": "blood-culture", "organism": "Staphylococcus aureus"}),
        (3, "urn:hospital:emr", "pain.assessed", {"nrs": 8, "onAnalgesics": False}),
    ],
]

MODES = ("binary", "structured", "structured-as-application-json")


def event_id(patient: str, n: int) -> str:
    return f"{patient}-e{n:03d}"


def attributes(patient: str, n: int, hours: float, source: str, type_: str) -> dict:
    return {"id": event_id(patient, n), "source": source, "type": type_, "subject": patient,
            "time": T0 + datetime.timedelta(hours=hours), "datacontenttype": "application/json"}


def rfc3339(t: datetime.datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def by_subject(event) -> str:
    return event.get_subject() if hasattr(event, "get_subject") else event["subject"]


def message(mode: str, attrs: dict, data: dict, legacy: bool = False):
    """The SDK's KafkaMessage of one event in `mode`; the key is the patient id (the subject)."""
    if mode == "structured-as-application-json" or legacy:
        legacy_attrs = dict(attrs, time=rfc3339(attrs["time"]), specversion="1.0")
        event = LegacyCloudEvent(legacy_attrs, data)
        convert = legacy_binding.to_binary if mode == "binary" else legacy_binding.to_structured
        return convert(event, key_mapper=by_subject)
    event = CloudEvent(dict(attrs), data)
    convert = binding.to_binary_event if mode == "binary" else binding.to_structured_event
    return convert(event, key_mapper=by_subject)


def headers_of(msg) -> list:
    return [(name, value) for name, value in msg.headers.items()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", required=True, help="the Kafka bootstrap servers (carepath's embedded cluster)")
    parser.add_argument("--topic", default="clinical.events")
    parser.add_argument("--manifest", help="write what was sent here (JSON)")
    args = parser.parse_args()

    producer = Producer({"bootstrap.servers": args.bootstrap, "enable.idempotence": True, "linger.ms": 5,
                         "client.id": "cloudevents-python-sdk-test"})
    failures: list[str] = []

    def delivered(err, msg):
        if err is not None:
            failures.append(f"{msg.key()!r}: {err}")

    def send(msg, headers=None):
        key = msg.key.encode() if isinstance(msg.key, str) else msg.key
        producer.produce(args.topic, key=key, value=msg.value,
                         headers=headers if headers is not None else headers_of(msg), on_delivery=delivered)

    manifest = {"topic": args.topic, "histories": [], "duplicates": [], "malformed": []}
    for h, history in enumerate(HISTORIES, start=1):
        patients = {}
        for mode, prefix in zip(MODES, ("CE-BIN", "CE-STR", "CE-JSN")):
            patient = f"{prefix}-{h}"
            patients[mode] = patient
            for n, (hours, source, type_, data) in enumerate(history, start=1):
                # The second history's binary messages come from the older SDK API.
                send(message(mode, attributes(patient, n, hours, source, type_), data, legacy=(mode == "binary" and h == 2)))
        manifest["histories"].append({"events": len(history), "patients": patients})

    # The same events again, in the other mode: duplicates, not conflicts.
    producer.flush(30)
    first = HISTORIES[0]
    for patient, n, mode in (("CE-BIN-1", 2, "structured"), ("CE-BIN-1", 4, "structured-as-application-json"),
                             ("CE-STR-1", 3, "binary"), ("CE-JSN-1", 4, "binary")):
        hours, source, type_, data = first[n - 1]
        send(message(mode, attributes(patient, n, hours, source, type_), data))
        manifest["duplicates"].append({"patient": patient, "id": event_id(patient, n), "sentAs": mode})

    # Malformed binary-mode messages: a valid event's headers, one thing broken.
    def malformed(patient: str, change, reason: str, path: str, value: bytes | None = None):
        msg = message("binary", attributes(patient, 1, 0, "urn:hospital:emr", "pain.assessed"), {"nrs": 5, "onAnalgesics": True})
        headers = change(dict(msg.headers))
        sent_value = value if value is not None else msg.value
        producer.produce(args.topic, key=patient.encode(), value=sent_value, headers=list(headers.items()), on_delivery=delivered)
        manifest["malformed"].append({"key": patient, "reason": reason, "path": path,
                                      "value": sent_value.decode("utf-8", "replace"),
                                      "headers": sorted(headers.keys())})

    malformed("CE-BAD-1", lambda hs: dict(hs, ce_time=b"yesterday"), "invalid-field", "$header.ce_time")
    malformed("CE-BAD-2", lambda hs: dict(hs, ce_specversion=b"0.3"), "unsupported-version", "$header.ce_specversion")
    malformed("CE-BAD-3", lambda hs: {k: v for k, v in hs.items() if k != "ce_source"}, "missing-field", "$header.ce_source")
    malformed("CE-BAD-4", lambda hs: dict(hs, ce_subject=b"CE-\xff\xfe-4"), "invalid-field", "$header.ce_subject")
    malformed("CE-BAD-5", lambda hs: dict(hs, ce_type=b"lab.resulted"), "unknown-type", "$header.ce_type")
    malformed("CE-BAD-6", lambda hs: hs, "invalid-field", "$.data.nrs", value=b'{"nrs": 11}')

    remaining = producer.flush(30)
    if remaining or failures:
        print(f"produce.py: {remaining} messages not delivered; failures: {failures[:5]}", file=sys.stderr)
        return 1
    if args.manifest:
        with open(args.manifest, "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=2)
    sent = sum(len(HISTORIES[i]) * len(MODES) for i in range(len(HISTORIES))) + len(manifest["duplicates"]) + len(manifest["malformed"])
    print(f"produce.py: {sent} messages sent to {args.topic} at {args.bootstrap}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
