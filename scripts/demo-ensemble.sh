#!/usr/bin/env bash
# Teacher ensembles on Fashion-MNIST (./demo.sh ensemble): three ConvNet teachers that differ (the main
# demo's, the same architecture from another seed, and a narrower one), served by one teacher service
# that also serves their mixture as the teacher "ensemble" (Ensembles:0). MLP students (the main demo's
# settings) learn offline from the ensemble and from the best single teacher (by its test accuracy), with
# the same budget, 3 seeds each, with 3,000 labels and with all of them. Writes artifacts/ensemble/report.json.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-packages.sh
source scripts/jemalloc.sh
use_jemalloc
ensure_packages dataset-fashion-mnist jq
start=$(date +%s)
out=artifacts/ensemble
mkdir -p "$out"
dotnet build TeacherStudent.sln -c Release -nologo -v quiet
trainer=(dotnet services/StudentTrainer/bin/Release/net10.0/TeacherStudent.StudentTrainer.dll)
source scripts/teacher-service.sh
source scripts/teacher-settings.sh

# 1. The teachers, each trained once and reused while its report is there: the main demo's ConvNet 32
#    (seed 1, shared with ./demo.sh), a ConvNet 32 from seed 2 and a ConvNet 16 from seed 3.
# teacher_args without its width, which each teacher gives.
convnet_args=()
for ((i = 0; i < ${#teacher_args[@]}; i++)); do
  if [ "${teacher_args[$i]}" = --width ]; then i=$((i + 1)); else convnet_args+=("${teacher_args[$i]}"); fi
done
teacher() { # teacher DIRECTORY SEED WIDTH
  [ -f "$1/report.json" ] && return 0
  "${trainer[@]}" train "${convnet_args[@]}" --seed "$2" --width "$3" --name "$(basename "$1")" --run-directory "$1" > "$1.log" 2>&1 \
    || { echo "error: teacher $(basename "$1") failed; the end of $1.log:"; tail -n 5 "$1.log"; return 1; }
}
mkdir -p "$out/teachers"
teacher "$teacher_dir" 1 32 & first=$!
teacher "$out/teachers/convnet32-s2" 2 32 & second=$!
wait $first
wait $second
teacher "$out/teachers/convnet16-s3" 3 16
names=(convnet32-s1 convnet32-s2 convnet16-s3)
dirs=("$teacher_dir" "$out/teachers/convnet32-s2" "$out/teachers/convnet16-s3")

# 2. One service: the three teachers, and their mixture (equal weights) as the teacher "ensemble".
settings=()
for i in 0 1 2; do
  settings+=(--Teachers:$i:Name="${names[$i]}" --Teachers:$i:Checkpoint="${dirs[$i]}/model.ckpt")
  settings+=(--Ensembles:0:Members:$i:Teacher="${names[$i]}")
done
start_teacher_service "$out/teacher-service.log" "${settings[@]}" --Ensembles:0:Name=ensemble --Ensembles:0:Combination=mixture
echo "teacher service at $address: ${names[*]} and their mixture 'ensemble'"

# The best single teacher: the highest test accuracy of the three (read from their reports).
best=0
for i in 1 2; do
  if awk -v a="$(jq .accuracy "${dirs[$i]}/report.json")" -v b="$(jq .accuracy "${dirs[$best]}/report.json")" 'BEGIN { exit !(a > b) }'; then best=$i; fi
done
echo "best single teacher: ${names[$best]} ($(jq .accuracy "${dirs[$best]}/report.json"))"

# 3. The students, two at a time: offline, the main demo's settings (docs/tuning.md).
student_args=(--architecture mlp --width 512 --epochs 12 --batch-size 128 --learning-rate 0.002 --temperature 4 --mode offline --threads 1)
runs=()
pids=()
student() { # student NAME TEACHER SCENARIO SEED [extra args...]
  local name=$1 teacher=$2 scenario=$3 seed=$4; shift 4
  local dir="$out/runs/$scenario/$name-s$seed"
  runs+=("$dir")
  while [ "$(jobs -rp | grep -v "^$service\$" | wc -l)" -ge 2 ]; do wait -n || true; done
  "${trainer[@]}" train "${student_args[@]}" --seed "$seed" --name "$name" --scenario "$scenario" --teacher "$teacher" \
    --teacher-address "$address" --run-directory "$dir" --targets-directory "$out/targets" "$@" > "$dir.log" 2>&1 &
  pids+=($!)
}
rm -rf "$out/runs"
mkdir -p "$out/runs/few_labels" "$out/runs/all_labels"
for seed in 1 2 3; do
  student ensemble ensemble few_labels $seed --labels 3000 --alpha 0.9
  student best-single "${names[$best]}" few_labels $seed --labels 3000 --alpha 0.9
  student ensemble ensemble all_labels $seed --alpha 0.5
  student best-single "${names[$best]}" all_labels $seed --alpha 0.5
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
stop_teacher_service
if [ $failed -ne 0 ]; then
  echo "error: a student failed; the end of each failed student's log:"
  for dir in "${runs[@]}"; do [ -f "$dir/report.json" ] || { echo "== $dir.log"; tail -n 5 "$dir.log"; }; done
  exit 1
fi

"${trainer[@]}" summarize-ensemble --teacher-runs "${dirs[@]}" --teacher-names "${names[@]}" --best-single "${names[$best]}" --runs "${runs[@]}" \
  --out "$out/report.json" --seconds $(( $(date +%s) - start ))
