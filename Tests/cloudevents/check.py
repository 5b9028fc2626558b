#!/usr/bin/env python3
"""carepath and the CloudEvents Python SDK: both Kafka content modes, end to end.

    python3 Tests/cloudevents/check.py --bin .build/debug/carepath

Starts `carepath run` with its embedded Kafka cluster (librdkafka's mock brokers on
127.0.0.1) in a scratch folder, runs produce.py against it (the CloudEvents SDK over
confluent-kafka: each history in binary mode, in structured mode, and in structured mode
sent as application/json, for three different patients; duplicates in the other mode;
malformed binary messages), reads carepath's output topics with confluent-kafka, and checks:

  - the patients of one history got the same outputs in every mode: each topic's messages
    and their carepath-id and carepath-causation-id headers, the same bytes once the patient
    id, and the ids and fingerprints derived from it, are written as placeholders;
  - the duplicates sent in the other mode changed nothing and were not dead-lettered;
  - each malformed message has its dead letter: the reason, the path ($header.ce_... for an
    attribute), the original value as payload, and the headers it was read from;
  - nothing else was dead-lettered.

One line per problem; the last line is `N passed, M failed`. Exit status 0 only when
nothing failed. Needs cloudevents (2.x) and confluent-kafka (`make deps`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    from confluent_kafka import Consumer, KafkaError
except ImportError as exc:  # pragma: no cover
    print(f"check.py needs confluent-kafka: {exc}; `make deps` installs it")
    print("0 passed, 1 failed")
    sys.exit(1)

HERE = Path(__file__).resolve().parent
OUTPUT_TOPICS = ["pathway.recommendations", "pathway.tasks", "pathway.events"]
DLQ = "clinical.events.dlq"
DERIVED = re.compile(r"(?:rec|task)-[0-9a-f]{32}|[0-9a-f]{64}")


def start_carepath(binary: str, folder: Path) -> tuple[subprocess.Popen, str]:
    """`carepath run` on its embedded cluster; returns the process and the cluster's address."""
    address_file = folder / "embedded.bootstrap"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREPATH_")}
    env.update({
        "CAREPATH_STORE": str(folder / "carepath.sqlite"),
        "CAREPATH_EMBEDDED_ADDRESS_FILE": str(address_file),
        "CAREPATH_EMBEDDED_PARTITIONS": "4",
        "CAREPATH_METRICS_PORT": "0",
        "CAREPATH_SESSION_TIMEOUT_MS": "6000",
        "CAREPATH_LOG_LEVEL": "warning",
    })
    log = open(folder / "carepath.log", "wb")
    process = subprocess.Popen([binary, "run"], env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"carepath run exited with {process.returncode}: {tail(folder / 'carepath.log')}")
        if address_file.exists() and address_file.read_text().strip():
            return process, address_file.read_text().strip()
        time.sleep(0.1)
    raise RuntimeError(f"carepath run wrote no address to {address_file} within 60 s: {tail(folder / 'carepath.log')}")


def stop_carepath(process: subprocess.Popen) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def tail(path: Path, lines: int = 15) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def read_outputs(bootstrap: str, done, limit: float = 120, quiet: float = 3.0) -> list[dict]:
    """Every message of the output topics, until `done(messages)` holds and then nothing new
    arrives for `quiet` seconds (or `limit` seconds pass)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"cloudevents-check-{os.getpid()}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe(OUTPUT_TOPICS + [DLQ])
    messages: list[dict] = []
    deadline = time.monotonic() + limit
    last = time.monotonic()
    try:
        while time.monotonic() < deadline:
            m = consumer.poll(0.2)
            if m is None:
                if done(messages) and time.monotonic() - last >= quiet:
                    break
                continue
            if m.error():
                if m.error().code() != KafkaError._PARTITION_EOF:
                    raise RuntimeError(f"reading {m.topic()}: {m.error()}")
                continue
            last = time.monotonic()
            headers = dict((k, v.decode()) for k, v in (m.headers() or []))
            messages.append({"topic": m.topic(), "partition": m.partition(), "offset": m.offset(),
                             "key": m.key().decode() if m.key() is not None else None,
                             "value": m.value().decode(), "carepath-id": headers.get("carepath-id", ""),
                             "causation": headers.get("carepath-causation-id", "")})
    finally:
        consumer.close()
    return messages


def stream(messages: list[dict], patient: str) -> list[str]:
    """A patient's outputs, topic by topic in partition order, with the patient id and what is
    derived from it (recommendation and task ids, fingerprints) as placeholders."""
    tokens: dict[str, str] = {}

    def placeholder(match: re.Match) -> str:
        return tokens.setdefault(match.group(0), f"<derived-{len(tokens) + 1}>")

    out = []
    for topic in OUTPUT_TOPICS:
        for m in sorted((m for m in messages if m["topic"] == topic and m["key"] == patient), key=lambda m: m["offset"]):
            line = f'{topic} {m["carepath-id"]} {m["causation"]} {m["value"]}'.replace(patient, "<patient>")
            out.append(DERIVED.sub(placeholder, line))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=".build/debug/carepath", help="the carepath executable")
    args = parser.parse_args()
    binary = str(Path(args.bin).resolve())
    passed, problems = 0, []

    with tempfile.TemporaryDirectory(prefix="carepath-cloudevents-") as scratch:
        folder = Path(scratch)
        process, bootstrap = start_carepath(binary, folder)
        try:
            manifest_path = folder / "manifest.json"
            produced = subprocess.run([sys.executable, str(HERE / "produce.py"), "--bootstrap", bootstrap,
                                       "--manifest", str(manifest_path)], capture_output=True, text=True, timeout=120)
            if produced.returncode != 0:
                print(f"produce.py failed ({produced.returncode}): {produced.stderr.strip() or produced.stdout.strip()}")
                print("0 passed, 1 failed")
                return 1
            print(produced.stdout.strip())
            manifest = json.loads(manifest_path.read_text())
            groups = [h["patients"] for h in manifest["histories"]]
            malformed = manifest["malformed"]

            def done(messages):
                keys = {m["key"] for m in messages if m["topic"] == "pathway.recommendations"}
                letters = sum(1 for m in messages if m["topic"] == DLQ)
                return all(p in keys for g in groups for p in g.values()) and letters >= len(malformed)

            messages = read_outputs(bootstrap, done)
        finally:
            status = stop_carepath(process)
        if status != 0:
            problems.append(f"carepath run exited with {status} on SIGTERM: {tail(folder / 'carepath.log')}")
        else:
            passed += 1

    # The same outputs in every mode.
    for group in groups:
        streams = {mode: stream(messages, patient) for mode, patient in group.items()}
        reference_mode = "structured"
        reference = streams[reference_mode]
        if not reference:
            problems.append(f"{group[reference_mode]}: no outputs")
            continue
        for mode, lines in streams.items():
            if mode == reference_mode:
                continue
            if lines == reference:
                passed += 1
                continue
            i = next((i for i, (a, b) in enumerate(zip(lines, reference)) if a != b), min(len(lines), len(reference)))
            problems.append(f"{group[mode]} ({mode}) differs from {group[reference_mode]} ({reference_mode}) at output {i} "
                            f"of {len(lines)} vs {len(reference)}:\n  {lines[i][:300] if i < len(lines) else '(none)'}\n"
                            f"  {reference[i][:300] if i < len(reference) else '(none)'}")

    # Duplicates in the other mode: no dead letter, no output caused by the re-send beyond the first.
    letters = [m for m in messages if m["topic"] == DLQ]
    for duplicate in manifest["duplicates"]:
        lettered = [m for m in letters if m["causation"] == duplicate["id"]]
        if lettered:
            problems.append(f"duplicate {duplicate['id']} sent as {duplicate['sentAs']} was dead-lettered: {lettered[0]['value'][:300]}")
        else:
            passed += 1

    # Each malformed message: its dead letter.
    for bad in malformed:
        found = [json.loads(m["value"]) for m in letters if m["key"] == bad["key"]]
        if len(found) != 1:
            problems.append(f"{bad['key']}: {len(found)} dead letters, expected 1 ({bad['reason']} at {bad['path']})")
            continue
        letter = found[0]
        wrong = []
        if letter.get("reason") != bad["reason"] or letter.get("path") != bad["path"]:
            wrong.append(f"{letter.get('reason')} at {letter.get('path')}, expected {bad['reason']} at {bad['path']}")
        if letter.get("payload") != bad["value"] or letter.get("payloadEncoding") != "utf8":
            wrong.append(f"payload {letter.get('payload')!r}, expected the value sent {bad['value']!r}")
        kept = sorted(h.get("name") for h in letter.get("headers", []))
        if kept != bad["headers"]:
            wrong.append(f"headers {kept}, expected the event's headers {bad['headers']}")
        if wrong:
            problems.append(f"{bad['key']}: " + "; ".join(wrong) + f" ({letter.get('message')})")
        else:
            passed += 1

    expected_keys = {bad["key"] for bad in malformed}
    for m in letters:
        if m["key"] not in expected_keys:
            problems.append(f"unexpected dead letter for {m['key']}: {m['value'][:300]}")

    for problem in problems:
        print(problem)
    print(f"{passed} passed, {len(problems)} failed")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
