#!/usr/bin/env bash
# Born-again self-distillation on Fashion-MNIST (./demo.sh self): a student MLP trained for three
# generations, each generation taught by the one before (no separate large teacher), beside the
# same MLP trained supervised for the same total number of epochs. Writes artifacts/self/report.json.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-packages.sh
ensure_packages dataset-fashion-mnist
start=$(date +%s)
out=artifacts/self
mkdir -p "$out"
dotnet build services/StudentTrainer -c Release -nologo -v quiet
trainer=(dotnet services/StudentTrainer/bin/Release/net10.0/TeacherStudent.StudentTrainer.dll)
# The demo's all-labels student settings (docs/tuning.md).
student=(--architecture mlp --width 512 --batch-size 128 --learning-rate 0.002 --temperature 4 --alpha 0.5 --threads 1 --seed 1)
generations=3
epochs=12

"${trainer[@]}" train "${student[@]}" --mode self --generations $generations --epochs $epochs \
  --name born-again --scenario self --run-directory "$out/born-again" > "$out/born-again.log" 2>&1 &
self=$!
"${trainer[@]}" train "${student[@]}" --mode supervised --epochs $((generations * epochs)) \
  --name supervised --scenario self --run-directory "$out/supervised" > "$out/supervised.log" 2>&1 &
supervised=$!
failed=0
wait $self || failed=1
wait $supervised || failed=1
if [ $failed -ne 0 ]; then echo "error: a run failed; see $out/*.log"; tail -n 3 "$out"/*.log; exit 1; fi

grep -h "generation\|done" "$out/born-again.log" | grep -v "epoch" || true
"${trainer[@]}" summarize --runs "$out/born-again" "$out/supervised" --out "$out/report.json" --seconds $(( $(date +%s) - start ))
