#!/usr/bin/env bash
# Checks the deployment files without a Docker engine:
#   - docker-compose.yml is valid (`docker-compose config -q`);
#   - it has the kafka, topics and carepath services; carepath is built from
#     the Dockerfile, waits for the topics, keeps its store on a named volume;
#   - the topics service's script, run against a stand-in kafka-topics.sh,
#     creates every topic with 8 partitions, clinical.events with
#     cleanup.policy=delete, retention.ms=-1 and retention.bytes=-1;
#   - every CAREPATH_* name the compose file or deploy/carepath.env sets is a
#     setting carepath knows (or a CAREPATH_KAFKA_* librdkafka property);
#   - the Dockerfile exists, runs as a non-root USER, has ENTRYPOINT carepath
#     and EXPOSE 9464.
# Run from anywhere: bash Tests/deployment/check_compose.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

fail() { echo "compose: FAILED: $*" >&2; exit 1; }

command -v docker-compose >/dev/null 2>&1 \
    || fail "docker-compose is not installed (Debian: apt-get install docker-compose; \`make deps\` does it)"
[ -f docker-compose.yml ] || fail "docker-compose.yml not found in $(pwd)"

# 1. Compose's own validation. No engine is needed for `config`.
if ! errors=$(docker-compose -f docker-compose.yml config -q 2>&1); then
    fail "docker-compose.yml is invalid: docker-compose config -q says:
$errors"
fi

# 2. The structure, from the file as compose resolves it. PyYAML: the python3
# on the PATH, else Debian's (docker-compose itself depends on python3-yaml).
python=""
for candidate in python3 /usr/bin/python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import yaml' 2>/dev/null; then
        python=$candidate
        break
    fi
done
[ -n "$python" ] || fail "no python3 with PyYAML (Debian: apt-get install python3-yaml)"

resolved=$(mktemp)
stub_dir=$(mktemp -d)
trap 'rm -rf "$resolved" "$stub_dir"' EXIT
docker-compose -f docker-compose.yml config > "$resolved" 2>/dev/null \
    || fail "docker-compose config could not print the resolved file"

summary=$("$python" - "$resolved" "$stub_dir" <<'PY'
import os, re, stat, subprocess, sys
import yaml

resolved_path, stub_dir = sys.argv[1], sys.argv[2]
problems = []

def check(condition, message):
    if not condition:
        problems.append(message)
    return condition

with open(resolved_path) as f:
    resolved = yaml.safe_load(f)
with open("docker-compose.yml") as f:
    raw = yaml.safe_load(f)
services = resolved.get("services") or {}

for name in ("kafka", "topics", "carepath"):
    check(name in services, f"service {name!r} is missing")
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)

# kafka: the official image in KRaft mode, with a healthcheck.
kafka = services["kafka"]
check(str(kafka.get("image", "")).startswith("apache/kafka:"), "kafka must use the official apache/kafka image")
kenv = kafka.get("environment") or {}
for key in ("KAFKA_NODE_ID", "KAFKA_PROCESS_ROLES", "KAFKA_CONTROLLER_QUORUM_VOTERS", "KAFKA_LISTENERS",
            "KAFKA_ADVERTISED_LISTENERS", "KAFKA_CONTROLLER_LISTENER_NAMES", "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"):
    check(key in kenv, f"kafka: {key} is not set")
check(str(kenv.get("KAFKA_PROCESS_ROLES", "")).replace(" ", "") in ("broker,controller", "controller,broker"),
      "kafka: KAFKA_PROCESS_ROLES must be broker,controller")
check("CONTROLLER://" in str(kenv.get("KAFKA_LISTENERS", "")), "kafka: KAFKA_LISTENERS needs a CONTROLLER listener")
check("kafka:9092" in str(kenv.get("KAFKA_ADVERTISED_LISTENERS", "")), "kafka: kafka:9092 must be advertised")
check(str(kenv.get("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR")) == "1", "kafka: offsets topic replication must be 1")
check("test" in (kafka.get("healthcheck") or {}), "kafka: no healthcheck")

# topics: run its script with a stand-in kafka-topics.sh that records each call.
topics = services["topics"]
check((topics.get("depends_on") or {}).get("kafka", {}).get("condition") == "service_healthy",
      "topics must wait for kafka to be healthy")
entrypoint = topics.get("entrypoint") or []
command = topics.get("command") or []
if isinstance(entrypoint, str):
    entrypoint = [entrypoint]
if isinstance(command, str):
    command = [command]
argv = [a.replace("$$", "$") for a in list(entrypoint) + list(command)]
calls = []
if check(argv and "kafka-topics.sh" in " ".join(argv), "topics: its command does not run kafka-topics.sh"):
    log = os.path.join(stub_dir, "calls")
    stub = os.path.join(stub_dir, "kafka-topics.sh")
    with open(stub, "w") as f:
        f.write('#!/bin/bash\nprintf "%s\\x1f" "$@" >> "$CALLS_LOG"; echo >> "$CALLS_LOG"\n')
    os.chmod(stub, 0o755)
    argv = [re.sub(r"/opt/kafka/bin/kafka-topics\.sh", stub, a) for a in argv]
    if argv[0] == "/bin/bash":
        argv[0] = "bash"
    run = subprocess.run(argv, env={**os.environ, "CALLS_LOG": log}, capture_output=True, text=True, timeout=60)
    check(run.returncode == 0, f"topics: its script failed against a stand-in kafka-topics.sh: {run.stderr.strip()[:300]}")
    if os.path.exists(log):
        calls = [line.rstrip("\x1f").split("\x1f") for line in open(log).read().splitlines() if line]

created = {}
for call in calls:
    if "--create" not in call:
        continue
    check("--if-not-exists" in call, f"topics: {' '.join(call)} lacks --if-not-exists")
    options, configs = {}, {}
    for flag, value in zip(call, call[1:]):
        if flag == "--config":
            k, _, v = value.partition("=")
            configs[k] = v
        elif flag.startswith("--"):
            options[flag] = value
    created[options.get("--topic")] = (options, configs)

for topic in ("clinical.events", "pathway.recommendations", "pathway.tasks", "pathway.events", "clinical.events.dlq"):
    if check(topic in created, f"topics: {topic} is not created"):
        options, _ = created[topic]
        check(options.get("--partitions") == "8", f"topics: {topic} must have 8 partitions, not {options.get('--partitions')}")
        check(options.get("--bootstrap-server") == "kafka:9092", f"topics: {topic} is not created on kafka:9092")
if "clinical.events" in created:
    configs = created["clinical.events"][1]
    for key, value in (("cleanup.policy", "delete"), ("retention.ms", "-1"), ("retention.bytes", "-1")):
        check(configs.get(key) == value, f"topics: clinical.events needs --config {key}={value} (has {configs.get(key)})")

# carepath: built from the Dockerfile, after the topics, on a named volume.
carepath = services["carepath"]
build = (raw.get("services", {}).get("carepath") or {}).get("build")
if isinstance(build, str):
    build = {"context": build}
check(isinstance(build, dict), "carepath must be built (build:) from the repository")
if isinstance(build, dict):
    check(os.path.normpath(build.get("context", ".")) == ".", "carepath: build context must be the repository root")
    check(build.get("dockerfile", "Dockerfile") == "Dockerfile", "carepath must be built from ./Dockerfile")
check((carepath.get("depends_on") or {}).get("topics", {}).get("condition") == "service_completed_successfully",
      "carepath must depend on topics with condition service_completed_successfully")
check(carepath.get("restart") == "unless-stopped", "carepath: restart must be unless-stopped")
check(bool(carepath.get("stop_grace_period")), "carepath: stop_grace_period is not set")
named_volumes = set((resolved.get("volumes") or {}).keys())
store_mounts = [v for v in carepath.get("volumes") or []
                if (v.get("target") if isinstance(v, dict) else str(v).split(":")[1]) == "/var/lib/carepath"]
check(any((v.get("source") if isinstance(v, dict) else str(v).split(":")[0]) in named_volumes for v in store_mounts),
      "carepath: /var/lib/carepath must be a named volume")
ports = [str(p.get("target") if isinstance(p, dict) else p) for p in carepath.get("ports") or []]
check(any("9464" in p for p in ports), "carepath: port 9464 is not published")
health = " ".join(map(str, (carepath.get("healthcheck") or {}).get("test") or []))
check("/health/ready" in health, "carepath: the healthcheck must probe /health/ready")

# Every CAREPATH_* name is a setting carepath knows.
known = {
    "CAREPATH_BROKERS", "CAREPATH_GROUP", "CAREPATH_STORE", "CAREPATH_STORE_PASSWORD", "CAREPATH_STORE_PASSWORD_FILE", "CAREPATH_STORE_DURABILITY", "CAREPATH_RULESET",
    "CAREPATH_TOPIC_INPUT", "CAREPATH_TOPIC_RECOMMENDATIONS", "CAREPATH_TOPIC_TASKS", "CAREPATH_TOPIC_EVENTS",
    "CAREPATH_TOPIC_DLQ", "CAREPATH_SESSION_TIMEOUT_MS", "CAREPATH_BATCH_SIZE", "CAREPATH_BATCH_WAIT_MS",
    "CAREPATH_OUTBOX_HIGH_WATERMARK", "CAREPATH_OUTBOX_LOW_WATERMARK", "CAREPATH_OUTBOX_RETRY_MS",
    "CAREPATH_TIMER_INTERVAL_MS", "CAREPATH_METRICS_HOST", "CAREPATH_METRICS_PORT", "CAREPATH_LOG_LEVEL",
}
def is_known(name):
    return name in known or re.fullmatch(r"CAREPATH_KAFKA_[A-Z0-9_]+", name) is not None

# Names anywhere outside comments (keys, ${CAREPATH_...} interpolations), then the resolved environments.
compose_text = "\n".join(re.sub(r"(^|\s)#.*$", "", line) for line in open("docker-compose.yml").read().splitlines())
names = set(re.findall(r"\bCAREPATH_[A-Z0-9_]+", compose_text))
for service in services.values():
    env = service.get("environment") or {}
    names.update(k for k in (env if isinstance(env, dict) else [e.split("=", 1)[0] for e in env]) if k.startswith("CAREPATH_"))
for name in sorted(names):
    check(is_known(name), f"docker-compose.yml: {name} is not a carepath setting")
env_names = set()
if os.path.exists("deploy/carepath.env"):
    for n, line in enumerate(open("deploy/carepath.env"), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if check("=" in line, f"deploy/carepath.env, line {n}: not NAME=value"):
            name = line.split("=", 1)[0].strip()
            env_names.add(name)
            check(is_known(name), f"deploy/carepath.env, line {n}: {name} is not a carepath setting")

if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"services {', '.join(sorted(services))}; {len(created)} topics; "
      f"{len(names)} CAREPATH_* names in compose, {len(env_names)} in deploy/carepath.env")
PY
) || fail "docker-compose.yml does not describe the deployment (see above)"

# 3. The Dockerfile.
[ -f Dockerfile ] || fail "Dockerfile not found"
grep -Eq '^USER[[:space:]]+' Dockerfile || fail "Dockerfile: no USER (carepath must not run as root)"
grep -Eiq '^USER[[:space:]]+(root|0)([[:space:]:]|$)' Dockerfile && fail "Dockerfile: USER must not be root"
last_user=$(grep -E '^USER[[:space:]]+' Dockerfile | tail -n 1 | awk '{print $2}')
[ "$last_user" != root ] && [ "$last_user" != 0 ] || fail "Dockerfile: the final USER is root"
grep -Eq '^ENTRYPOINT[[:space:]]+\[[[:space:]]*"(/usr/local/bin/)?carepath"' Dockerfile \
    || fail 'Dockerfile: ENTRYPOINT must be ["carepath"]'
grep -Eq '^EXPOSE[[:space:]]+(.*[[:space:]])?9464([/[:space:]]|$)' Dockerfile || fail "Dockerfile: EXPOSE 9464 is missing"
grep -q -- '--static-swift-stdlib' Dockerfile || fail "Dockerfile: the binary must be built with --static-swift-stdlib"
if [ -f deploy/healthcheck.sh ]; then
    bash -n deploy/healthcheck.sh || fail "deploy/healthcheck.sh has a syntax error"
fi

echo "compose: ok ($summary; Dockerfile: USER $last_user, ENTRYPOINT carepath, EXPOSE 9464)"
