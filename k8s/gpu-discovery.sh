#!/usr/bin/env bash
# Spark resource discovery for GPUs (spark.executor.resource.gpu.discoveryScript): prints the GPU
# indices this executor's container can see as {"name": "gpu", "addresses": ["0", ...]}.
set -euo pipefail
command -v nvidia-smi >/dev/null || { echo "gpu-discovery: nvidia-smi not found in the container" >&2; exit 1; }
ids="$(nvidia-smi --query-gpu=index --format=csv,noheader | tr -d ' ' | sed 's/.*/"&"/' | paste -sd, -)"
[ -n "$ids" ] || { echo "gpu-discovery: no GPU visible" >&2; exit 1; }
echo "{\"name\": \"gpu\", \"addresses\": [$ids]}"
