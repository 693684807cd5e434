#!/usr/bin/env bash
# Builds the image with podman where no image registry can be reached, then runs the
# gateway container and waits for its health check: a Debian 12 base is made with
# debootstrap from Debian's archive and imported as a local image, and both stages of the
# Containerfile start from it (apt inside the build reaches the archive as usual).
# Needs root, podman, runc and debootstrap (apt-get install podman runc debootstrap); takes
# about 15 minutes on 2 cores, most of it compiling. runc and explicit ulimits instead of
# podman's defaults (crun, nofile and nproc at their maximum): crun refuses hosts with
# cgroup controllers on both v1 and v2 hierarchies, and a host whose own limits are lower
# than podman's defaults refuses to raise them. Usage, from anywhere:
#   deploy/container/build-local.sh [TAG]      (default localhost/custos:0.1.0)
# The base image is kept (localhost/debian-base:bookworm) and reused by later runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
tag=${1:-localhost/custos:0.1.0}
base=localhost/debian-base:bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
ctr=(podman --runtime runc)
limits=(--ulimit nofile=16384:16384 --ulimit nproc=8192:8192)
for tool in podman runc debootstrap openssl; do
  command -v "$tool" > /dev/null || { echo "build-local: $tool is missing" >&2; exit 1; }
done

work=$(mktemp -d)
name=custos-build-local-$$
cleanup() {
  "${ctr[@]}" rm -f "$name" > /dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

if ! podman image exists "$base"; then
  echo "build-local: debootstrap of Debian 12 into $work/rootfs"
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" > "$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
  printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n' \
    "$mirror" "$mirror" > "$work/rootfs/etc/apt/sources.list"
  rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/*
  tar -C "$work/rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$base" > /dev/null
  rm -rf "$work/rootfs"
fi

echo "build-local: building $tag"
"${ctr[@]}" build "${limits[@]}" --format docker --network host --build-arg BASE="$base" --build-arg RUNTIME_BASE="$base" \
  -f deploy/container/Containerfile -t "$tag" .

# A gateway with a throwaway TLS key and SQLite store, alone in its own network namespace
# (--network none: its ports collide with nothing); the health check must pass.
echo "build-local: running the gateway and waiting for its health check"
mkdir -m 0755 "$work/secrets"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost -keyout "$work/secrets/gateway.key" \
  -out "$work/secrets/gateway.crt" 2> /dev/null
chown 10001:10001 "$work/secrets/gateway.key"
chmod 0400 "$work/secrets/gateway.key"
chmod 0444 "$work/secrets/gateway.crt"
cat > "$work/gateway.ini" <<INI
[gateway]
listen = 0.0.0.0:50051
store = /var/lib/custos/custos.db
chain_id = 31337
verifying_contract = 0x5FbDB2315678afecb367f032d93F642f64180aa3

[metrics]
listen = 0.0.0.0:9464

[tls]
cert = /run/secrets/gateway.crt
key = /run/secrets/gateway.key

[feed acme-custody]
max_age = 86400
threshold = 1

[signer acme-ops-1]
address = 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
feed = acme-custody
role = custodian
INI
chmod 0644 "$work/gateway.ini"
"${ctr[@]}" run "${limits[@]}" -d --name "$name" --network none --read-only --cap-drop ALL \
  --security-opt no-new-privileges -v "$work/gateway.ini:/etc/custos/gateway.ini:ro" \
  -v "$work/secrets:/run/secrets:ro" "$tag" > /dev/null
"${ctr[@]}" image inspect --format '{{.Config.Healthcheck.Test}}' "$tag" | grep -q readyz ||
  { echo "build-local: $tag has no HEALTHCHECK" >&2; exit 1; }
healthy=0
for _ in $(seq 1 30); do
  if "${ctr[@]}" healthcheck run "$name" > /dev/null 2>&1; then
    healthy=1
    break
  fi
  sleep 2
done
[ "$healthy" -eq 1 ] || { "${ctr[@]}" logs "$name" >&2; echo "build-local: the gateway container did not become healthy" >&2; exit 1; }
echo "build-local: the HEALTHCHECK passes"
# The README's exec probe, and an online backup from inside the running container.
"${ctr[@]}" exec "$name" custos health --gateway localhost:50051 --tls-ca /run/secrets/gateway.crt
"${ctr[@]}" exec "$name" custos-backup --store /var/lib/custos/custos.db --dir /var/lib/custos-backup --keep 2
"${ctr[@]}" exec "$name" custos-attestor keygen --out /var/lib/custos-attestor/probe.key > /dev/null
echo "build-local: $tag built; the gateway serves, custos health, custos-backup and custos-attestor run in it"
