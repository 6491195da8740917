#!/usr/bin/env bash
# Regenerates the Python stubs in easel_client/_proto from ../../Proto with grpcio-tools.
set -euo pipefail
cd "$(dirname "$0")"
out=easel_client/_proto
rm -rf "$out" && mkdir -p "$out"
well_known=$(python3 -c 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')
python3 -m grpc_tools.protoc -I ../../Proto -I "$well_known" \
  --python_out="$out" --grpc_python_out="$out" --pyi_out="$out" \
  easel/v1/common.proto easel/v1/tasks.proto easel/v1/templates.proto easel/v1/credits.proto easel/v1/backends.proto \
  easel/v1/admin.proto
echo "generated into $out"
