#!/usr/bin/env bash
# Language-model distillation on the fortunes corpus (./demo.sh lm): trains a Llama-family teacher
# (once; a second run reuses it), serves it from its Hugging Face model directory, and trains the
# same small student four ways with the same
# optimiser steps and corpus tokens — cross-entropy only, forward KL, reverse KL and on-policy —
# the last three from the teacher service; measures what dense, top-8, top-32 and sampled-32
# targets cost per token and keep of the teacher's distribution, and the service's tokens/s beside
# an in-process forward. Every model leaves as a Hugging Face directory (RUN/model: config.json,
# model.safetensors, tokenizer.json, ...). Writes artifacts/lm/report.json and prints the tables.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-packages.sh
ensure_packages fortunes
start=$(date +%s)
out=artifacts/lm
mkdir -p "$out"
dotnet build TeacherStudent.sln -c Release -nologo -v quiet
trainer=(dotnet services/StudentTrainer/bin/Release/net10.0/TeacherStudent.StudentTrainer.dll)
source scripts/teacher-service.sh

# The teacher and the students (scripts/lm-settings.sh).
source scripts/lm-settings.sh
teacher_dir=$lm_teacher_dir
student_args=("${lm_student_args[@]}" --seed 1)

# 1. The teacher: trained once, reused while its model directory and report are there.
if [ ! -f "$teacher_dir/report.json" ] || [ ! -f "$teacher_dir/model/config.json" ]; then
  rm -rf "$teacher_dir"
  "${trainer[@]}" train-lm "${lm_teacher_args[@]}" --name teacher --run-directory "$teacher_dir"
fi

# 2. The teacher service on a free loopback port.
start_teacher_service "$out/teacher-service.log" --Teacher:Name=fortunes --Teacher:Checkpoint="$teacher_dir/model"
echo "teacher service at $address"

# 3. The students, one after the other (each uses both cores), afresh on every run.
rm -rf "$out/runs"
mkdir -p "$out/runs"
runs=()
student() { # student NAME [args...]
  local name=$1; shift
  local dir="$out/runs/$name"
  runs+=("$dir")
  "${trainer[@]}" train-lm "${student_args[@]}" --tokenizer "$teacher_dir/model" --name "$name" --run-directory "$dir" \
    --teacher fortunes --teacher-address "$address" "$@" > "$dir.log" 2>&1 \
    || { echo "error: student $name failed; the end of its log:"; tail -n 5 "$dir.log"; exit 1; }
  tail -n 1 "$dir.log"
}
# forward_kl learns from every token's probability (dense: 4 KB per token on the wire here): with
# alpha 1 and top-32 targets it learns nothing about the tail, where much of real text falls.
# reverse_kl keeps some cross-entropy (alpha 0.2): alone, its mode seeking costs perplexity.
# on_policy trains half its steps on its own continuations (GKD's lambda 0.5).
student ce --mode supervised
student forward_kl --mode online --loss forward_kl --alpha 1 --k 0
student reverse_kl --mode online --loss reverse_kl --alpha 0.2 --k 32
student on_policy --mode on_policy --loss forward_kl --alpha 0.5 --k 32 --new-tokens 16 --on-policy-fraction 0.5

# 4. What each way of shipping targets costs and keeps, and tokens/s served vs in process.
"${trainer[@]}" measure-targets --teacher fortunes --teacher-address "$address" --teacher-checkpoint "$teacher_dir/model" \
  --teacher-targets-dtype float16 --sequences 256 --batch 16 --repeats 3 --out "$out/targets.json"
stop_teacher_service

# 5. The report and the tables.
"${trainer[@]}" summarize-lm --teacher-run "$teacher_dir" --runs "${runs[@]}" --targets "$out/targets.json" \
  --out "$out/report.json" --seconds $(( $(date +%s) - start ))
echo "report: $out/report.json"
