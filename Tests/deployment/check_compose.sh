#!/usr/bin/env bash
# Checks the deployment files without a Docker engine:
#   - docker-compose.yml is valid (`docker-compose config -q`);
#   - it has the kafka, topics and postgres services: postgres with a
#     pg_isready healthcheck, its data on a named volume, restart
#     unless-stopped, its password from a secret file;
#   - two carepath instances (services built from the Dockerfile, not in a
#     profile), in one consumer group, CAREPATH_STORE a postgresql:// URL to
#     the postgres service's user and database, the password from the same
#     secret, depending on kafka and postgres healthy and topics completed,
#     distinct host ports and host names; the SQLite alternative (a carepath
#     service in a profile) in a group of its own, its store on a named volume;
#   - no password in plain text anywhere: PASSWORD settings and store URLs
#     carry none, and a secret file in the repository is marked as a demo
#     value (its name contains "demo");
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

for name in ("kafka", "topics", "postgres"):
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

named_volumes = set((resolved.get("volumes") or {}).keys())
top_secrets = resolved.get("secrets") or {}
raw_services = raw.get("services") or {}

def as_list(value):
    return [value] if isinstance(value, str) else list(value or [])

def environment(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, None) for e in env)
    return {k: ("" if v is None else str(v)) for k, v in env.items()}

def mount(v):
    if isinstance(v, dict):
        return v.get("source"), v.get("target")
    parts = str(v).split(":")
    return (parts[0], parts[1]) if len(parts) > 1 else (None, parts[0])

def secret_names(service):
    return {(x.get("source") if isinstance(x, dict) else str(x)) for x in service.get("secrets") or []}

def secret_target(service, name):
    for x in service.get("secrets") or []:
        if isinstance(x, dict) and x.get("source") == name:
            target = x.get("target") or name
            return target if target.startswith("/") else f"/run/secrets/{target}"
        if x == name:
            return f"/run/secrets/{name}"
    return None

def host_ports(service):
    out = []
    for p in service.get("ports") or []:
        if isinstance(p, dict):
            out.append((str(p.get("published") or ""), str(p.get("target"))))
        else:
            parts = str(p).split(":")
            out.append((parts[-2] if len(parts) > 1 else "", parts[-1].split("/")[0]))
    return out

# Secret files: one inside the repository is committed, so it must be a marked demo value.
repo = os.path.realpath(".")
for name, secret in top_secrets.items():
    path = secret.get("file") if isinstance(secret, dict) else None
    if not check(path, f"secret {name}: only file secrets are expected (no external ones without Swarm)"):
        continue
    real = os.path.realpath(path)
    if real == repo or real.startswith(repo + os.sep):
        check(os.path.isfile(real), f"secret {name}: {path} does not exist")
        check("demo" in os.path.basename(real).lower(),
              f"secret {name}: {os.path.relpath(real, repo)} is committed with the repository, so it must be a "
              "demo value and named so (\"demo\" in its file name); keep a real secret outside version control")

# postgres: the official image, a healthcheck with pg_isready, a named volume, the password from a secret.
postgres = services["postgres"]
penv = environment(postgres)
check(re.match(r"(docker\.io/)?(library/)?postgres:", str(postgres.get("image", ""))) is not None,
      "postgres must use the official postgres image (postgres:15)")
check("pg_isready" in " ".join(map(str, as_list((postgres.get("healthcheck") or {}).get("test")))),
      "postgres: the healthcheck must run pg_isready")
check(not (postgres.get("healthcheck") or {}).get("disable"), "postgres: the healthcheck is disabled")
check(postgres.get("restart") == "unless-stopped", "postgres: restart must be unless-stopped")
check(any(t == "/var/lib/postgresql/data" and src in named_volumes for src, t in map(mount, postgres.get("volumes") or [])),
      "postgres: /var/lib/postgresql/data must be a named volume")
pg_user = penv.get("POSTGRES_USER") or "postgres"
pg_db = penv.get("POSTGRES_DB") or pg_user
pg_secret = None
if check("POSTGRES_PASSWORD_FILE" in penv, "postgres: the password must come from a secret file (POSTGRES_PASSWORD_FILE)"):
    for name in secret_names(postgres):
        if secret_target(postgres, name) == penv["POSTGRES_PASSWORD_FILE"]:
            pg_secret = name
    check(pg_secret in top_secrets,
          f"postgres: POSTGRES_PASSWORD_FILE={penv['POSTGRES_PASSWORD_FILE']} is not one of its secrets")
check(str(penv.get("POSTGRES_HOST_AUTH_METHOD", "")).lower() != "trust", "postgres: POSTGRES_HOST_AUTH_METHOD=trust lets anyone in")

# The carepath services: built from ./Dockerfile. Those without a profile run by default.
def is_carepath(name):
    build = (raw_services.get(name) or {}).get("build")
    return build is not None or str(services[name].get("image", "")).startswith("carepath")
carepaths = sorted(n for n in services if is_carepath(n))
instances = [n for n in carepaths if not services[n].get("profiles")]
alternatives = [n for n in carepaths if services[n].get("profiles")]

replicas = sum(int(((services[n].get("deploy") or {}).get("replicas")) or 1) for n in instances)
check(replicas == 2, f"two carepath instances must run by default, not {replicas} ({', '.join(instances) or 'none'})")

for name in carepaths:
    svc = services[name]
    build = (raw_services.get(name) or {}).get("build")
    if isinstance(build, str):
        build = {"context": build}
    if check(isinstance(build, dict), f"{name} must be built (build:) from the repository"):
        check(os.path.normpath(build.get("context", ".")) == ".", f"{name}: build context must be the repository root")
        check(build.get("dockerfile", "Dockerfile") == "Dockerfile", f"{name} must be built from ./Dockerfile")
    deps = svc.get("depends_on") or {}
    check((deps.get("topics") or {}).get("condition") == "service_completed_successfully",
          f"{name} must depend on topics with condition service_completed_successfully")
    check((deps.get("kafka") or {}).get("condition") == "service_healthy",
          f"{name} must depend on kafka with condition service_healthy")
    check(svc.get("restart") == "unless-stopped", f"{name}: restart must be unless-stopped")
    check(bool(svc.get("stop_grace_period")), f"{name}: stop_grace_period is not set")
    health = " ".join(map(str, as_list((svc.get("healthcheck") or {}).get("test"))))
    check("/health/ready" in health, f"{name}: the healthcheck must probe /health/ready")
    env = environment(svc)
    metrics_port = env.get("CAREPATH_METRICS_PORT", "9464")
    for published, target in host_ports(svc):
        check(target == metrics_port, f"{name}: publishes container port {target}, but /metrics is on {metrics_port}")
    if int(((svc.get("deploy") or {}).get("replicas")) or 1) > 1:
        check(not any(published for published, _ in host_ports(svc)),
              f"{name}: {svc['deploy']['replicas']} replicas cannot all publish the same host port")

# The instances: one group, on the postgres service, the password from postgres's secret.
groups = set()
published = []
for name in instances:
    svc = services[name]
    env = environment(svc)
    groups.add(env.get("CAREPATH_GROUP") or "carepath")
    check(((svc.get("depends_on") or {}).get("postgres") or {}).get("condition") == "service_healthy",
          f"{name} must depend on postgres with condition service_healthy")
    store = env.get("CAREPATH_STORE", "")
    m = re.fullmatch(r"postgres(?:ql)?://([^:@/]+)(?::([^@/]*))?@([^:/?]+)(?::(\d+))?/([^?]+)(\?.*)?", store)
    if check(m is not None, f"{name}: CAREPATH_STORE must be a postgresql://USER@postgres:5432/DB URL, not {store!r}"):
        user, password, host, port, db, query = m.groups()
        check(host == "postgres", f"{name}: CAREPATH_STORE must point at the postgres service, not {host}")
        check((port or "5432") == "5432", f"{name}: CAREPATH_STORE must use port 5432, not {port}")
        check(user == pg_user, f"{name}: CAREPATH_STORE's user {user} is not postgres's POSTGRES_USER {pg_user}")
        check(db == pg_db, f"{name}: CAREPATH_STORE's database {db} is not postgres's POSTGRES_DB {pg_db}")
        check(password is None, f"{name}: CAREPATH_STORE carries a password; use CAREPATH_STORE_PASSWORD_FILE and a secret")
        mode = re.search(r"[?&]sslmode=([^&]*)", query or "")
        check(mode is None or mode.group(1) in ("disable", "require", "verify-full"),
              f"{name}: sslmode must be disable, require or verify-full")
    pwfile = env.get("CAREPATH_STORE_PASSWORD_FILE")
    if check(pwfile, f"{name}: CAREPATH_STORE_PASSWORD_FILE must name the password's secret file"):
        check(pg_secret is not None and secret_target(svc, pg_secret) == pwfile,
              f"{name}: CAREPATH_STORE_PASSWORD_FILE={pwfile} is not postgres's password secret ({pg_secret}) mounted in {name}")
    published += [(name, p) for p, _ in host_ports(svc) if p]
check(len(groups) == 1, f"the carepath instances must share one consumer group, not {sorted(groups)}")
check(any(p == "9464" for _, p in published), "no carepath instance publishes /metrics on host port 9464")
host_port_list = [p for _, p in published]
check(len(host_port_list) == len(set(host_port_list)), f"two carepath services publish the same host port: {published}")
hostnames = [services[n].get("hostname") for n in instances if services[n].get("hostname")]
check(len(hostnames) == len(set(hostnames)), f"the carepath instances share a host name (the claims' owner): {hostnames}")
client_ids = [environment(services[n]).get("CAREPATH_KAFKA_CLIENT_ID") for n in instances]
client_ids = [c for c in client_ids if c]
check(len(client_ids) == len(set(client_ids)), f"the carepath instances share a Kafka client id: {client_ids}")

# The embedded/simple alternative: one instance on SQLite, in a profile, a group of its own, a named volume.
sqlite_alternatives = [n for n in alternatives if not environment(services[n]).get("CAREPATH_STORE", "").startswith("postgres")]
check(sqlite_alternatives, "the single-instance SQLite alternative (a carepath service in a profile) is missing")
for name in sqlite_alternatives:
    svc = services[name]
    env = environment(svc)
    check((env.get("CAREPATH_GROUP") or "carepath") not in groups,
          f"{name}: a SQLite store serves one instance per group; give it a group of its own, not {env.get('CAREPATH_GROUP')}")
    store = env.get("CAREPATH_STORE", "/var/lib/carepath/carepath.sqlite")
    check(store.startswith("/var/lib/carepath/") or store.startswith("sqlite:/var/lib/carepath/"),
          f"{name}: its SQLite store must be under /var/lib/carepath, not {store}")
    check(any(t == "/var/lib/carepath" and src in named_volumes for src, t in map(mount, svc.get("volumes") or [])),
          f"{name}: /var/lib/carepath must be a named volume")

# No password in plain text: password settings hold none but a marked demo value, URLs carry none.
for sname, svc in services.items():
    for key, value in environment(svc).items():
        if re.search(r"PASSWORD|PASSWD|SECRET", key) and not key.endswith("_FILE") and value:
            check("demo" in value.lower(), f"{sname}: {key} holds a password in plain text; use a secret file")
        if re.search(r"://[^/@\s:]+:[^/@\s]+@", value):
            check("demo" in value.lower(), f"{sname}: {key} carries a password in a URL; use a secret file")

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
print(f"services {', '.join(sorted(services))}; {replicas} carepath instances on postgres in group {sorted(groups)[0] if groups else '?'}; "
      f"{len(created)} topics; "
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
