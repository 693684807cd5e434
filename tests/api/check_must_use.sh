#!/usr/bin/env bash
# Every public function returning custos_rc is declared CUSTOS_MUST_USE (custos_error_set
# aside: it returns its own rc argument), and the mark makes ignoring a result an error:
#   check_must_use.sh SOURCE_DIR C_COMPILER
set -euo pipefail
src=$1 cc=$2
failed=0

# The declarations: "custos_rc custos_x(" at the start of a line, and the line before it.
for h in "$src"/include/custos/*.h; do
  missing=$(awk '/^custos_rc custos_[a-z0-9_]+\(/ && !/^custos_rc custos_error_set\(/ {
                   if (prev != "CUSTOS_MUST_USE") print FILENAME ":" FNR ": " $0 }
                 { prev = $0 }' "$h")
  if [[ -n $missing ]]; then
    echo "FAIL: not marked CUSTOS_MUST_USE:"
    echo "$missing"
    failed=1
  fi
done
count=$(cat "$src"/include/custos/*.h | grep -c '^CUSTOS_MUST_USE$' || true)
if ((count == 0)); then
  echo "FAIL: no CUSTOS_MUST_USE declaration found"
  failed=1
fi

# A caller that drops a result does not compile under the project's warnings.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/drop.c" <<'C'
#include "custos/hex.h"
void drop(void);
void drop(void)
{
    uint8_t b[1];
    custos_hex_decode("0x00", b, 1, NULL);
}
C
if "$cc" -std=c11 -Wall -Werror -I"$src/include" -c "$tmp/drop.c" -o "$tmp/drop.o" \
     >"$tmp/out" 2>&1; then
  echo "FAIL: ignoring custos_hex_decode's result compiled"
  failed=1
elif ! grep -q 'unused-result\|warn_unused_result' "$tmp/out"; then
  echo "FAIL: the compiler refused the snippet for another reason:"
  cat "$tmp/out"
  failed=1
fi

if ((failed)); then
  exit 1
fi
echo "ok: $count functions marked CUSTOS_MUST_USE; a dropped result does not compile"
