#!/usr/bin/env bash
# deploy/container/Containerfile: building the image takes about 15 minutes, too long for
# every test run (deploy/container/build-local.sh builds and runs it for real), so check
# what goes stale silently when the project grows: the build stage copies the whole source
# tree and .dockerignore leaves out nothing the build needs (and keeps secrets out); every
# pkg-config module (and OpenSSL) the build asks for comes from a package the build stage
# installs; every shared library the gateway, attestor and CLI load directly, and every
# command custos-backup and the health check run, comes from a package the runtime stage
# installs; the image installs the four commands, runs as a non-root user and has a
# HEALTHCHECK of the metrics port's /readyz.
set -euo pipefail
: "${CUSTOS_SOURCE_DIR:?}" "${GATEWAY_BIN:?}" "${ATTESTOR_BIN:?}" "${CLI_BIN:?}"
src=$CUSTOS_SOURCE_DIR
containerfile=$src/deploy/container/Containerfile
ignore=$src/.dockerignore
problems=0
problem() { echo "Containerfile: $*" >&2; problems=$((problems + 1)); }

# The packages of the N-th stage's apt-get install (1: build, 2: runtime).
stage_packages() {
  awk -v want="$1" '
    /^FROM / { stage++ }
    stage == want && /apt-get install/ { on = 1 }
    stage == want && on {
      for (i = 1; i <= NF; i++) if ($i ~ /^[a-z0-9][a-z0-9.+-]+$/) print $i
      if ($0 !~ /\\$/) on = 0
    }' "$containerfile" | grep -vxE 'apt-get|install|update|rm|DEBIAN_FRONTEND' | sort -u
}
build_pkgs=$(stage_packages 1)
runtime_pkgs=$(stage_packages 2)
[ -n "$build_pkgs" ] || problem "no apt-get install found in the build stage"
[ -n "$runtime_pkgs" ] || problem "no apt-get install found in the runtime stage"

# The Debian package that ships a file (empty when none does). dpkg records some files
# under /lib and others under /usr/lib (merged /usr): ask for both spellings.
package_of() {
  local path=$1 alt=${1#/usr}
  [ "$alt" = "$path" ] && alt=/usr$path
  { dpkg -S "$path" 2>/dev/null || dpkg -S "$alt" 2>/dev/null || true; } | head -n 1 | cut -d: -f1
}

# 1. Sources: the build stage copies the build context whole, and .dockerignore excludes
#    no directory the top-level CMakeLists.txt adds (nor cmake/, CMakeLists.txt or the
#    backup script) but does exclude the compose stack's secrets and local build output.
grep -qx 'COPY \. \.' "$containerfile" || problem "the build stage must COPY . . (the whole source tree)"
[ -f "$ignore" ] || problem "no .dockerignore at the repository root (the build context)"
ignored() { # PATH: whether a .dockerignore line matches it or a directory above it
  local path=$1 pattern
  while IFS= read -r pattern; do
    pattern=${pattern%/}
    case "$pattern" in '' | '#'*) continue ;; esac
    pattern=${pattern#'**/'}
    # shellcheck disable=SC2053 # glob match on purpose
    [[ "$path" == $pattern || "$path" == $pattern/* || "$(basename "$path")" == $pattern ]] && return 0
  done < "$ignore"
  return 1
}
for dir in $(grep -oE 'add_subdirectory\([^) ]+' "$src/CMakeLists.txt" | cut -d'(' -f2 | cut -d/ -f1 | sort -u) \
           cmake CMakeLists.txt deploy/scripts/custos-backup deploy/calendar; do
  ! ignored "$dir" || problem ".dockerignore leaves out $dir, which the build needs"
done
for dir in deploy/container/secrets deploy/container/config build build-asan node_modules .git; do
  ignored "$dir" || problem ".dockerignore must leave out $dir"
done

# 2. Build dependencies: each pkg-config module's .pc file, and OpenSSL's headers.
modules=$(grep -rhoE 'pkg_check_modules\([^)]*\)' "$src/CMakeLists.txt" "$src"/*/CMakeLists.txt |
  sed -E 's/pkg_check_modules\(//; s/\)//' |
  awk '{ for (i = 2; i <= NF; i++) if ($i != "REQUIRED" && $i != "IMPORTED_TARGET" && $i != "QUIET") print $i }' |
  sort -u)
for module in $modules; do
  pc="$(pkg-config --variable=pcfiledir "$module")/$module.pc"
  pkg=$(package_of "$pc")
  [ -n "$pkg" ] || { problem "cannot tell which package ships pkg-config module $module"; continue; }
  grep -qx "$pkg" <<<"$build_pkgs" || problem "the build needs $module ($pkg), which the build stage does not install"
done
pkg=$(package_of /usr/include/openssl/ssl.h)
grep -qx "$pkg" <<<"$build_pkgs" || problem "the build needs OpenSSL ($pkg), which the build stage does not install"

# What apt installs for the runtime stage: its packages and, recursively, their
# dependencies (as this machine's dpkg knows them; first of each alternative).
runtime_closure=$runtime_pkgs
queue=$runtime_pkgs
while [ -n "$queue" ]; do
  next=""
  for pkg in $queue; do
    deps=$(dpkg-query -W -f='${Depends},${Pre-Depends}' "$pkg" 2>/dev/null || true)
    for dep in $(tr ',' '\n' <<<"$deps" | sed -E 's/\|.*//; s/\(.*\)//; s/:any//; s/ //g' | sort -u); do
      grep -qx "$dep" <<<"$runtime_closure" && continue
      runtime_closure=$(printf '%s\n%s' "$runtime_closure" "$dep")
      next="$next $dep"
    done
  done
  queue=$next
done

# 3. Runtime: every library the binaries name directly comes from the runtime stage's
#    packages or their dependencies.
#    Sanitizer builds link differently (every library of the chain, the sanitizer and
#    atomic runtimes): the check needs binaries built as the image builds them.
#    The dynamic section is read whole first: under pipefail, grep -q leaving early could
#    kill readelf with SIGPIPE and turn a match into a failed test.
dynamic=$(readelf -d "$GATEWAY_BIN")
if grep -qE 'NEEDED.*lib(a|ub|t)san' <<<"$dynamic"; then
  echo "Containerfile: runtime libraries not checked: these binaries are sanitizer builds"
  runtime_bins=""
else
  runtime_bins="$GATEWAY_BIN $ATTESTOR_BIN $CLI_BIN"
fi
for bin in $runtime_bins; do
  for lib in $(readelf -d "$bin" | awk '/NEEDED/ { gsub(/[][]/, "", $5); print $5 }'); do
    path=$(ldd "$bin" | awk -v l="$lib" '$1 == l { print $3 }')
    [ -n "$path" ] || { problem "$(basename "$bin") needs $lib, which is not installed here"; continue; }
    pkg=$(package_of "$path")
    [ -n "$pkg" ] || pkg=$(package_of "$(readlink -f "$path")")
    [ -n "$pkg" ] || { problem "cannot tell which package ships $lib"; continue; }
    [ "$pkg" = libc6 ] && continue
    grep -qx "$pkg" <<<"$runtime_closure" || problem "$(basename "$bin") loads $lib ($pkg), which the runtime stage does not install"
  done
done

# 4. Commands run in the image: custos-backup's sqlite3 and pg_dump, the health check's
#    curl (by the package that ships each here).
for cmd in sqlite3 curl /usr/lib/postgresql/*/bin/pg_dump; do
  path=$(command -v "$cmd" || true)
  [ -n "$path" ] || { problem "$cmd is not installed here: cannot tell its package"; continue; }
  pkg=$(package_of "$(readlink -f "$path")")
  [ -n "$pkg" ] || { problem "cannot tell which package ships $cmd"; continue; }
  grep -qx "$pkg" <<<"$runtime_closure" || problem "the image runs $cmd ($pkg), which the runtime stage does not install"
done

# 5. The image: the four commands installed, a non-root user, the gateway's health check.
for bin in custos-gateway custos-attestor custos custos-backup; do
  grep -qE "install -D -m 0755 .* /out/usr/local/bin/$bin( |\$)" "$containerfile" ||
    problem "the image does not install /usr/local/bin/$bin"
done
grep -q -- '--target custos-gateway custos-attestor custos_cli' "$containerfile" ||
  problem "the build stage must build custos-gateway, custos-attestor and custos_cli"
grep -qE '^USER 10001:10001$' "$containerfile" || problem "the runtime stage must run as USER 10001:10001"
awk '/^HEALTHCHECK/ { on = 1 } on { print } on && !/\\$/ { exit }' "$containerfile" |
  grep -q 'http://127.0.0.1:9464/readyz' || problem "no HEALTHCHECK of http://127.0.0.1:9464/readyz"

if [ "$problems" -gt 0 ]; then
  echo "$problems problem(s)" >&2
  exit 1
fi
if [ -n "$runtime_bins" ]; then
  echo "Containerfile: sources, build packages, runtime libraries and commands, health check: ok"
else
  echo "Containerfile: sources, build packages, commands, health check: ok"
fi
