#!/usr/bin/env bash
# Checks that a program linked against custos_core carries nothing of gRPC or protobuf-c:
#   check_core_only.sh PROGRAM CORE_ARCHIVE LINK_LINE_FILE|-
# - the shared libraries PROGRAM needs (ELF NEEDED),
# - PROGRAM's symbols, defined or undefined,
# - the symbols CORE_ARCHIVE leaves undefined (what it would pull in),
# - the command that linked PROGRAM, when the generator wrote it to a file ("-": none).
set -euo pipefail
program=$1 archive=$2 link_line=$3
network='grpc|gpr_|libgpr|protobuf|absl|upb|cares|libre2|address_sorting'
failed=0

needed=$(readelf -d "$program" | awk '/\(NEEDED\)/ {print $NF}')
if [[ -z $needed ]]; then
  echo "FAIL: readelf found no NEEDED entry in $program (not a dynamic ELF program?)"
  failed=1
fi
bad=$(grep -Ei "$network" <<<"$needed" || true)
if [[ -n $bad ]]; then
  echo "FAIL: $program needs: $bad"
  failed=1
fi

symbols=$(nm "$program")
bad=$(grep -E ' (grpc_|gpr_|protobuf_c_|custos__v1__)' <<<"$symbols" || true)
if [[ -n $bad ]]; then
  echo "FAIL: $program has gRPC or protobuf symbols:"
  head -n 20 <<<"$bad"
  failed=1
fi
if ! grep -q ' T custos_attestation_digest$' <<<"$symbols"; then
  echo "FAIL: $program does not contain custos_attestation_digest: not the digest check?"
  failed=1
fi

undefined=$(nm -u "$archive")
bad=$(grep -E '(grpc_|gpr_|protobuf_c_|custos__v1__)' <<<"$undefined" || true)
if [[ -n $bad ]]; then
  echo "FAIL: $archive refers to gRPC or protobuf symbols:"
  head -n 20 <<<"$bad"
  failed=1
fi

if [[ $link_line != - ]]; then
  line=$(<"$link_line")
  if grep -Eiq "$network|custos_client|custos_pb|custos_proto" <<<"$line"; then
    echo "FAIL: the link line of $program names a network or protobuf library:"
    echo "$line"
    failed=1
  fi
  if ! grep -q 'libcustos_core\.a' <<<"$line"; then
    echo "FAIL: the link line of $program does not name libcustos_core.a:"
    echo "$line"
    failed=1
  fi
else
  echo "note: link line not checked (this CMake generator writes no link.txt)"
fi

if ((failed)); then
  exit 1
fi
echo "ok: $(basename "$program") links custos_core without gRPC or protobuf-c ($(tr '\n' ' ' <<<"$needed"))"
