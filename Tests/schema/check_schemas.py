#!/usr/bin/env python3
"""Checks carepath's JSON Schemas, their fixtures, and optionally carepath itself.

    python3 Tests/schema/check_schemas.py [--bin PATH/TO/carepath] [--outputs FILE.jsonl ...]

(a) Every `Schemas/**/*.schema.json` must be a valid JSON Schema 2020-12 with an
    absolute `$id` of the form https://carepath.example/schemas/<path under Schemas/>.
    All of them go into one `referencing` registry, so cross-file `$ref`s resolve.
(b) Every fixture `Schemas/examples/<kind>/<name>.pass.json` must validate, and every
    `<name>.fail.json` must not, against the kind's schema (`format_checker` on, so
    `date-time` is checked). A fail fixture carries exactly one problem, named by its
    sibling `<name>.expect.json` ({"reason": ..., "path": ...}, PATHWAY.md section 2);
    jsonschema's errors must point at that one field with that reason. Input fixtures are
    also checked through input/clinical-event.schema.json, and output fixtures (kinds
    recommendation, task, dead-letter, domain-event) through output-line.schema.json,
    wrapped in an output line of their topic. Pass fixtures of output kinds must list
    their members in the contract's order.
(c) With --bin, `PATH validate --kind KIND FILE` runs for every fixture (FILE an absolute
    path, --jobs runs at a time): it must exit 0 for a pass fixture, and exit 1 with
    exactly one stdout line
    `invalid FILE: REASON at PATH: message` for a fail fixture; for input kinds REASON
    and PATH must equal the .expect.json.
(d) With --outputs FILE.jsonl (repeatable), every line of a `carepath evaluate` output
    must validate against output-line.schema.json. Unless --schema-only is given, each
    line must also have no duplicate member names, list its members in the contract's
    order, and (for every topic but the dead-letter one) carry the patient id as key.

One line is printed per problem; the last line is exactly `N passed, M failed`, where
N + M counts fixtures and output lines (a broken schema or a missing fixture category
counts as one more failure). The exit status is 0 only when nothing failed.
Needs only the standard library, jsonschema (4.x) and referencing (with
rfc3339-validator installed, which jsonschema uses for `date-time`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

try:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012
except ImportError as exc:  # pragma: no cover
    print(f"check_schemas.py needs jsonschema 4.x and referencing: {exc}")
    print("0 passed, 1 failed")
    sys.exit(1)

ID_BASE = "https://carepath.example/schemas/"

INPUT_KINDS = [
    "patient.presented", "imaging.resulted", "neuro.examined", "biopsy.resulted", "pain.assessed",
    "vitals.recorded", "medication.changed", "task.updated", "spine.cleared", "timer.fired",
]
OUTPUT_KINDS = {  # kind -> (schema file, topic)
    "recommendation": ("recommendation.schema.json", "pathway.recommendations"),
    "task": ("task.schema.json", "pathway.tasks"),
    "dead-letter": ("dead-letter.schema.json", "clinical.events.dlq"),
    "domain-event": ("domain-event.schema.json", "pathway.events"),
}
TOPIC_KIND = {topic: kind for kind, (_, topic) in OUTPUT_KINDS.items()}
REASONS = {
    "invalid-json", "unknown-type", "missing-field", "invalid-field", "too-large",
    "unsupported-version", "conflicting-duplicate", "unknown-task",
}
MIN_INPUT_PASS, MIN_INPUT_FAIL = 3, 4

# Member order of what carepath writes (PATHWAY.md sections 1, 4, 5, 6). A spec is
# (keys, {member: child spec}); a child spec applies to an object, or to each object of
# an array.
RECOMMENDATION_ORDER = (
    ["id", "revision", "patientId", "code", "status", "priority", "indicator", "summary", "detail",
     "rationale", "evidence", "rule", "pathwayState", "episode", "causationEventId", "issuedAt",
     "updatedAt", "statusReason"],
    {"rationale": (["fact", "value", "eventId"], {}),
     "evidence": (["source", "text"], {}),
     "rule": (["id", "rulesetVersion"], {})},
)
TASK_ORDER = (
    ["resourceType", "id", "meta", "status", "statusReason", "intent", "priority", "code",
     "description", "reasonCode", "for", "authoredOn", "lastModified", "executionPeriod", "basedOn"],
    {"meta": (["versionId", "lastUpdated"], {}),
     "statusReason": (["text"], {}),
     "reasonCode": (["text"], {}),
     "code": (["coding", "text"], {"coding": (["system", "code", "display"], {})}),
     "for": (["reference"], {}),
     "executionPeriod": (["start", "end"], {}),
     "basedOn": (["reference"], {})},
)
DEAD_LETTER_ORDER = (
    ["reason", "path", "message", "topic", "partition", "offset", "key", "payload",
     "payloadEncoding", "payloadTruncated", "payloadSha256", "receivedAt", "headers"],
    {"headers": (["name", "value", "valueEncoding", "valueTruncated"], {})},
)
_TIMER = ["timerId", "timerCode", "dueAt"]
DOMAIN_DATA_ORDER = {
    "ClinicalEventRecorded": (["source", "id", "type", "time", "actingAt", "fingerprint", "data"], {}),
    "StateChanged": (["from", "to", "reason"], {}),
    "TrackOpened": (["track", "reason"], {}),
    "TrackClosed": (["track", "reason"], {}),
    "RecommendationIssued": (["recommendation"], {"recommendation": RECOMMENDATION_ORDER}),
    "RecommendationRevised": (["recommendation"], {"recommendation": RECOMMENDATION_ORDER}),
    "TaskRequested": (["task"], {"task": TASK_ORDER}),
    "TaskChanged": (["task"], {"task": TASK_ORDER}),
    "TimerScheduled": (_TIMER, {}),
    "TimerFired": (_TIMER, {}),
    "TimerCancelled": (_TIMER + ["reason"], {}),
    "EpisodeStarted": (["episode", "reason"], {}),
    "ResultConflictRecorded": (["source", "id", "type", "time", "fingerprint", "fields"], {}),
}
DOMAIN_EVENT_KEYS = ["type", "patientId", "version", "occurredAt", "causationEventId", "data"]
OUTPUT_LINE_KEYS = ["topic", "key", "value"]


# ----------------------------------------------------------------------------- helpers

class DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise DuplicateKey(f"duplicate member {key!r}")
        obj[key] = value
    return obj


def load_json(text: str):
    """Parses JSON keeping member order and rejecting duplicate member names."""
    return json.loads(text, object_pairs_hook=_no_duplicates)


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def json_path(parts) -> str:
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENT.fullmatch(part):
            out += "." + part
        else:
            out += "[" + json.dumps(part) + "]"
    return out


def diagnoses(error, is_input: bool):
    """(reason, path) pairs carepath should report for one jsonschema error (PATHWAY.md s. 2)."""
    if error.context:  # anyOf / oneOf: the causes are in the context
        for sub in error.context:
            yield from diagnoses(sub, is_input)
        return
    parts = list(error.absolute_path)
    if error.validator == "required":
        if isinstance(error.instance, dict):
            for name in error.validator_value:
                if name not in error.instance:
                    yield "missing-field", json_path(parts + [name])
        return
    if error.validator == "additionalProperties" and error.validator_value is False:
        known = error.schema.get("properties", {})
        patterns = error.schema.get("patternProperties", {})
        for name in error.instance:
            if name not in known and not any(re.search(p, name) for p in patterns):
                yield "invalid-field", json_path(parts + [name])
        return
    if error.instance is None and parts and isinstance(parts[-1], str):  # null counts as absent
        yield "missing-field", json_path(parts)
        return
    if is_input and parts == ["specversion"]:
        yield "unsupported-version", "$.specversion"
        return
    if is_input and parts == ["type"] and isinstance(error.instance, str) and error.instance not in INPUT_KINDS:
        yield "unknown-type", "$.type"
        return
    yield "invalid-field", json_path(parts)


def _refs(node):
    """Every "$ref" value in a schema (no schema here nests a resource with its own $id)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def short(exc: BaseException, limit: int = 200) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[:limit] + "..."


def describe(errors, limit=3) -> str:
    shown = [f"{json_path(e.absolute_path)}: {e.message}" for e in errors[:limit]]
    more = f" (+{len(errors) - limit} more)" if len(errors) > limit else ""
    return "; ".join(shown) + more


def check_order(value, spec, where: str, problems: list):
    """Appends a problem when the members of `value` are not in the order of `spec`."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            check_order(item, spec, f"{where}[{i}]", problems)
        return
    if not isinstance(value, dict):
        return
    keys, children = spec
    listed = [k for k in value if k in keys]
    expected = sorted(listed, key=keys.index)
    if listed != expected:
        problems.append(f"members out of order at {where}: {listed} (expected {expected})")
    for name, child in children.items():
        if name in value:
            check_order(value[name], child, f"{where}.{name}", problems)


def check_output_order(kind: str, value, where: str, problems: list):
    if kind == "recommendation":
        check_order(value, RECOMMENDATION_ORDER, where, problems)
    elif kind == "task":
        check_order(value, TASK_ORDER, where, problems)
    elif kind == "dead-letter":
        check_order(value, DEAD_LETTER_ORDER, where, problems)
    elif kind == "domain-event" and isinstance(value, dict):
        data_spec = DOMAIN_DATA_ORDER.get(value.get("type"))
        spec = (DOMAIN_EVENT_KEYS, {"data": data_spec} if data_spec else {})
        check_order(value, spec, where, problems)


def output_patient_id(kind: str, value):
    if not isinstance(value, dict):
        return None
    if kind == "task":
        ref = (value.get("for") or {}).get("reference") if isinstance(value.get("for"), dict) else None
        return ref[len("Patient/"):] if isinstance(ref, str) and ref.startswith("Patient/") else None
    return value.get("patientId")


# ----------------------------------------------------------------------------- checker

class Checker:
    def __init__(self, schemas_dir: Path, binary: str | None, timeout: float, jobs: int = 1):
        self.dir = schemas_dir
        self.binary = binary
        self.timeout = timeout
        self.jobs = max(1, jobs)
        self.runs: dict = {}
        self.passed = 0
        self.failed = 0
        self.validators: dict[str, Draft202012Validator] = {}

    def problem(self, where, message):
        print(f"FAIL {where}: {message}")

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.dir.parent))
        except ValueError:
            return str(path)

    # (a) ------------------------------------------------------------------
    def load_schemas(self) -> bool:
        format_checker = Draft202012Validator.FORMAT_CHECKER
        if format_checker.conforms("2026-03-02T10:15:00", "date-time"):
            self.problem("environment", "format 'date-time' is not checked: install rfc3339-validator")
            self.failed += 1
            return False
        files = sorted(p for p in self.dir.rglob("*.schema.json") if "examples" not in p.relative_to(self.dir).parts)
        if not files:
            self.problem(str(self.dir), "no *.schema.json files")
            self.failed += 1
            return False
        schemas = {}
        ok = True
        for path in files:
            rel = path.relative_to(self.dir).as_posix()
            try:
                schema = load_json(path.read_text(encoding="utf-8"))
                Draft202012Validator.check_schema(schema)
            except (ValueError, SchemaError) as exc:
                self.problem(self.rel(path), f"not a valid 2020-12 schema: {str(exc).splitlines()[0]}")
                self.failed += 1
                ok = False
                continue
            expected_id = ID_BASE + rel
            if schema.get("$id") != expected_id:
                self.problem(self.rel(path), f"$id is {schema.get('$id')!r}, expected {expected_id!r}")
                self.failed += 1
                ok = False
            schemas[rel] = schema
        registry = Registry().with_resources(
            (s["$id"], Resource.from_contents(s, default_specification=DRAFT202012))
            for s in schemas.values() if isinstance(s.get("$id"), str)
        ).crawl()
        for rel, schema in schemas.items():
            self.validators[rel] = Draft202012Validator(schema, registry=registry, format_checker=format_checker)
        needed = [f"input/{k}.schema.json" for k in INPUT_KINDS] + ["input/clinical-event.schema.json"]
        needed += [f for f, _ in OUTPUT_KINDS.values()] + ["output-line.schema.json"]
        for rel in needed:
            if rel not in self.validators:
                self.problem(self.rel(self.dir / rel), "missing")
                self.failed += 1
                ok = False
        # Resolve every $ref once, so a dangling one is reported here, not as a fixture failure.
        for rel, schema in schemas.items():
            resolver = registry.resolver(base_uri=schema.get("$id", ""))
            for ref in sorted(set(_refs(schema))):
                try:
                    resolver.lookup(ref)
                except Exception as exc:  # referencing.exceptions.Unresolvable and friends
                    self.problem(self.rel(self.dir / rel), f"$ref {ref!r} does not resolve: {short(exc)}")
                    self.failed += 1
                    ok = False
        return ok

    def schema_for(self, kind: str) -> str:
        return f"input/{kind}.schema.json" if kind in INPUT_KINDS else OUTPUT_KINDS[kind][0]

    # (b) + (c) ------------------------------------------------------------
    def check_fixtures(self):
        examples = self.dir / "examples"
        if self.binary and examples.is_dir():  # run carepath on all fixtures in parallel first
            fixtures = [(p.parent.name, p) for p in sorted(examples.glob("*/*.json"))
                        if p.name.endswith((".pass.json", ".fail.json"))
                        and (p.parent.name in INPUT_KINDS or p.parent.name in OUTPUT_KINDS)]
            with ThreadPoolExecutor(max_workers=self.jobs) as pool:
                results = pool.map(lambda f: self.invoke(*f), fixtures)
                self.runs = {path: result for (_, path), result in zip(fixtures, results)}
        counts = {}
        for folder in sorted(p for p in examples.iterdir() if p.is_dir()) if examples.is_dir() else []:
            kind = folder.name
            if kind not in INPUT_KINDS and kind not in OUTPUT_KINDS:
                self.problem(self.rel(folder), "unknown fixture kind (folder name)")
                self.failed += 1
                continue
            counts[kind] = [0, 0]
            for path in sorted(folder.iterdir()):
                name = path.name
                if name.endswith(".pass.json") or name.endswith(".fail.json"):
                    expect_valid = name.endswith(".pass.json")
                    counts[kind][0 if expect_valid else 1] += 1
                    problems = self.check_fixture(kind, path, expect_valid)
                    for message in problems:
                        self.problem(self.rel(path), message)
                    if problems:
                        self.failed += 1
                    else:
                        self.passed += 1
                elif name.endswith(".expect.json"):
                    if not path.with_name(name[: -len(".expect.json")] + ".fail.json").exists():
                        self.problem(self.rel(path), "no sibling .fail.json")
                        self.failed += 1
                else:
                    self.problem(self.rel(path), "not a fixture (expected NAME.pass.json, NAME.fail.json or NAME.expect.json)")
                    self.failed += 1
        for kind in INPUT_KINDS + list(OUTPUT_KINDS):
            n_pass, n_fail = counts.get(kind, (0, 0))
            min_pass, min_fail = (MIN_INPUT_PASS, MIN_INPUT_FAIL) if kind in INPUT_KINDS else (1, 1)
            if n_pass < min_pass or n_fail < min_fail:
                self.problem(f"examples/{kind}", f"{n_pass} pass and {n_fail} fail fixtures; "
                             f"at least {min_pass} and {min_fail} are required")
                self.failed += 1

    def check_fixture(self, kind: str, path: Path, expect_valid: bool) -> list[str]:
        problems: list[str] = []
        is_input = kind in INPUT_KINDS
        try:
            instance = load_json(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            return [f"not JSON: {exc}"]
        try:
            errors = list(self.validators[self.schema_for(kind)].iter_errors(instance))
        except Exception as exc:  # a schema that cannot be used (e.g. a dangling $ref)
            return [f"{self.schema_for(kind)} cannot validate it: {short(exc)}"]
        if expect_valid and errors:
            problems.append(f"should be valid but jsonschema says: {describe(errors)}")
        if not expect_valid and not errors:
            problems.append("should be invalid but jsonschema accepts it")

        # The same verdict through the dispatching schemas.
        if is_input:
            via, wrapped = "input/clinical-event.schema.json", instance
        else:
            via, wrapped = "output-line.schema.json", {"topic": OUTPUT_KINDS[kind][1], "key": None, "value": instance}
        try:
            outer_valid = self.validators[via].is_valid(wrapped)
        except Exception as exc:
            problems.append(f"{via} cannot validate it: {short(exc)}")
            outer_valid = not errors
        if outer_valid != (not errors):
            problems.append(f"{via} says {'valid' if outer_valid else 'invalid'}, "
                            f"{self.schema_for(kind)} says {'invalid' if errors else 'valid'}")

        expectation = None
        if expect_valid:
            if not is_input:
                check_output_order(kind, instance, "$", problems)
        else:
            expect_path = path.with_name(path.name[: -len(".fail.json")] + ".expect.json")
            try:
                expectation = load_json(expect_path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                problems.append(f"no {expect_path.name}")
            except ValueError as exc:
                problems.append(f"{expect_path.name} is not JSON: {exc}")
            if expectation is not None:
                if (not isinstance(expectation, dict) or set(expectation) != {"reason", "path"}
                        or expectation["reason"] not in REASONS
                        or not isinstance(expectation["path"], str) or not expectation["path"].startswith("$")):
                    problems.append(f"{expect_path.name} must be {{\"reason\": one of the 8 reasons, "
                                    f"\"path\": \"$...\"}}, got {expectation!r}")
                    expectation = None
            if errors:
                found = sorted({d for e in errors for d in diagnoses(e, is_input)})
                if len(found) != 1:
                    problems.append(f"a fail fixture must have exactly one problem; jsonschema finds "
                                    f"{[f'{r} at {p}' for r, p in found]}")
                elif expectation is not None and found[0] != (expectation["reason"], expectation["path"]):
                    r, p = found[0]
                    problems.append(f"{expect_path.name} says {expectation['reason']} at {expectation['path']}, "
                                    f"but jsonschema's error is {r} at {p}")

        if self.binary:
            problems += self.run_binary(kind, path, expect_valid, expectation if is_input else None)
        return problems

    def invoke(self, kind: str, path: Path):
        """Runs `carepath validate`; returns the CompletedProcess, or a problem string."""
        command = [self.binary, "validate", "--kind", kind, str(path)]
        try:
            return subprocess.run(command, capture_output=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            return f"carepath validate timed out after {self.timeout:g}s"
        except OSError as exc:
            return f"cannot run {self.binary}: {exc}"

    def run_binary(self, kind, path: Path, expect_valid: bool, expectation) -> list[str]:
        argument = str(path)
        done = self.runs.pop(path, None) or self.invoke(kind, path)
        if isinstance(done, str):
            return [done]
        stdout = done.stdout.decode("utf-8", "replace")
        lines = [line for line in stdout.splitlines() if line.strip()]
        if done.returncode not in (0, 1):
            stderr = done.stderr.decode("utf-8", "replace").strip().splitlines()
            return [f"carepath validate exited {done.returncode}" + (f": {stderr[-1]}" if stderr else "")]
        if expect_valid:
            if done.returncode != 0:
                return [f"jsonschema: valid; carepath: invalid ({lines[0] if lines else 'no output'})"]
            return []
        if done.returncode == 0:
            return ["jsonschema: invalid; carepath: valid (exit 0)"]
        if len(lines) != 1:
            return [f"carepath validate printed {len(lines)} lines on stdout, expected 1: {lines[:3]}"]
        match = re.fullmatch(r"invalid (?P<file>.+?): (?P<reason>[a-z-]+) at (?P<path>\$\S*?): (?P<message>.*)",
                             lines[0])
        if not match or match["file"] not in (argument, str(path.resolve())):
            return [f"carepath's line is not `invalid {argument}: REASON at PATH: message`: {lines[0]!r}"]
        if match["reason"] not in REASONS:
            return [f"carepath's reason {match['reason']!r} is not one of PATHWAY.md section 6"]
        if expectation is not None and (match["reason"], match["path"]) != (expectation["reason"], expectation["path"]):
            return [f"expected {expectation['reason']} at {expectation['path']}, "
                    f"carepath says {match['reason']} at {match['path']}: {match['message']}"]
        return []

    # (d) ------------------------------------------------------------------
    def check_outputs(self, file: Path, schema_only: bool):
        validator = self.validators["output-line.schema.json"]
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.problem(str(file), f"cannot read: {exc}")
            self.failed += 1
            return
        if text and not text.endswith("\n"):
            self.problem(str(file), "the last line has no newline")
            self.failed += 1
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        for number, line in enumerate(lines, 1):  # not splitlines(): U+2028 may sit inside a string
            where = f"{file}:{number}"
            problems = []
            try:
                value = load_json(line)
            except ValueError as exc:
                self.problem(where, f"not JSON: {exc}")
                self.failed += 1
                continue
            try:
                errors = sorted(validator.iter_errors(value), key=lambda e: json_path(e.absolute_path))
            except Exception as exc:
                self.problem(where, f"output-line.schema.json cannot validate it: {short(exc)}")
                self.failed += 1
                continue
            for error in errors:
                leaves = error.context or [error]
                for leaf in leaves[:3]:
                    problems.append(f"{json_path(leaf.absolute_path)}: {leaf.message[:300]}")
            if not schema_only and isinstance(value, dict):
                check_order(value, (OUTPUT_LINE_KEYS, {}), "$", problems)
                kind = TOPIC_KIND.get(value.get("topic"))
                if kind:
                    check_output_order(kind, value.get("value"), "$.value", problems)
                    if kind != "dead-letter":
                        patient = output_patient_id(kind, value.get("value"))
                        if patient is not None and value.get("key") != patient:
                            problems.append(f"key {value.get('key')!r} is not the patient id {patient!r}")
            for message in problems:
                self.problem(where, message)
            if problems:
                self.failed += 1
            else:
                self.passed += 1


def main(argv=None) -> int:
    default_dir = Path(__file__).resolve().parents[2] / "Schemas"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schemas", type=Path, default=default_dir, help="the Schemas directory")
    parser.add_argument("--bin", help="a carepath binary: also run `carepath validate` on every fixture")
    parser.add_argument("--outputs", type=Path, action="append", default=[],
                        help="a `carepath evaluate` output file (JSON lines) to validate; repeatable")
    parser.add_argument("--schema-only", action="store_true",
                        help="with --outputs: check only the schema (no member order / key checks)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per carepath run")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="carepath runs in parallel")
    args = parser.parse_args(argv)

    if args.bin and shutil.which(args.bin) is None:
        print(f"FAIL --bin: {args.bin} is not an executable file")
        print("0 passed, 1 failed")
        return 1
    checker = Checker(args.schemas.resolve(), args.bin, args.timeout, args.jobs)
    checker.load_schemas()
    needed = [checker.schema_for(k) for k in INPUT_KINDS + list(OUTPUT_KINDS)]
    needed += ["input/clinical-event.schema.json", "output-line.schema.json"]
    if all(rel in checker.validators for rel in needed):  # else load_schemas has reported it
        checker.check_fixtures()
        for file in args.outputs:
            checker.check_outputs(file, args.schema_only)
    print(f"{checker.passed} passed, {checker.failed} failed")
    return 0 if checker.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
