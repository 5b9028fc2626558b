#!/bin/bash
# carepath's container health probe: GET http://localhost:${CAREPATH_METRICS_PORT}/health/ready
# and succeed only on a 200 (partitions assigned, store open). The runtime image has
# no curl or wget, so this speaks HTTP through bash's /dev/tcp.
# Usage: carepath-healthcheck [PATH]   (default /health/ready; /health/live for liveness)
set -u
port="${CAREPATH_METRICS_PORT:-9464}"
path="${1:-/health/ready}"
if [ "$port" = 0 ]; then
    echo "carepath-healthcheck: CAREPATH_METRICS_PORT=0 turns the health endpoint off" >&2
    exit 1
fi
exec 3<>"/dev/tcp/127.0.0.1/$port" || { echo "carepath-healthcheck: nothing listens on 127.0.0.1:$port" >&2; exit 1; }
printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$path" >&3
IFS= read -r -t 5 status <&3 || { echo "carepath-healthcheck: no answer from 127.0.0.1:$port$path" >&2; exit 1; }
status="${status%$'\r'}"
case "$status" in
    "HTTP/1."?" 200 "*) exit 0 ;;
    *) echo "carepath-healthcheck: $path answered \"$status\"" >&2; exit 1 ;;
esac
