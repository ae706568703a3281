#!/usr/bin/env bash
# Language-model teacher ensembles on the fortunes corpus (./demo.sh lm-ensemble): the language-model
# demo's teacher and a second one of its shape from another seed, sharing its tokenizer, served by one
# teacher service. The demo's small student learns (forward KL on dense targets, the demo's budget) from
# the mixture of the two, combined in the student (--teacher NAME@ADDRESS repeated), and from the better
# single teacher (by test perplexity), 3 seeds each. Writes artifacts/lm-ensemble/report.json.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-packages.sh
source scripts/jemalloc.sh
use_jemalloc
ensure_packages fortunes jq
start=$(date +%s)
out=artifacts/lm-ensemble
mkdir -p "$out"
dotnet build TeacherStudent.sln -c Release -nologo -v quiet
trainer=(dotnet services/StudentTrainer/bin/Release/net10.0/TeacherStudent.StudentTrainer.dll)
source scripts/teacher-service.sh
source scripts/lm-settings.sh

# 1. The teachers, each trained once and reused while its model and report are there: the demo's
#    (shared with ./demo.sh lm), and one from seed 2 with the demo teacher's tokenizer.
second_dir=$out/teacher-s2
if [ ! -f "$lm_teacher_dir/report.json" ] || [ ! -f "$lm_teacher_dir/model/config.json" ]; then
  rm -rf "$lm_teacher_dir"
  "${trainer[@]}" train-lm "${lm_teacher_args[@]}" --name teacher --run-directory "$lm_teacher_dir" > "$out/teacher.log" 2>&1 \
    || { echo "error: the teacher failed; the end of $out/teacher.log:"; tail -n 5 "$out/teacher.log"; exit 1; }
fi
if [ ! -f "$second_dir/report.json" ] || [ ! -f "$second_dir/model/config.json" ]; then
  rm -rf "$second_dir"
  "${trainer[@]}" train-lm "${lm_teacher_args[@]}" --seed 2 --tokenizer "$lm_teacher_dir/model" --name teacher-s2 --run-directory "$second_dir" \
    > "$out/teacher-s2.log" 2>&1 || { echo "error: the second teacher failed; the end of $out/teacher-s2.log:"; tail -n 5 "$out/teacher-s2.log"; exit 1; }
fi
names=(fortunes fortunes-s2)
dirs=("$lm_teacher_dir" "$second_dir")

# 2. One service holding both.
start_teacher_service "$out/teacher-service.log" --Teachers:0:Name=fortunes --Teachers:0:Checkpoint="$lm_teacher_dir/model" \
  --Teachers:1:Name=fortunes-s2 --Teachers:1:Checkpoint="$second_dir/model"
echo "teacher service at $address: ${names[*]}"
best=0
if awk -v a="$(jq .perplexity "${dirs[1]}/report.json")" -v b="$(jq .perplexity "${dirs[0]}/report.json")" 'BEGIN { exit !(a < b) }'; then best=1; fi
echo "best single teacher: ${names[$best]} (test perplexity $(jq .perplexity "${dirs[$best]}/report.json"))"

# 3. The students, one at a time (a student's forwards and its teachers' share the two cores).
rm -rf "$out/runs"
mkdir -p "$out/runs"
runs=()
student() { # student NAME SEED [teacher args...]
  local name=$1 seed=$2; shift 2
  local dir="$out/runs/$name-s$seed"
  runs+=("$dir")
  "${trainer[@]}" train-lm "${lm_student_args[@]}" --seed "$seed" --mode online --loss forward_kl --alpha 1 --k 0 \
    --tokenizer "$lm_teacher_dir/model" --name "$name" --run-directory "$dir" "$@" > "$dir.log" 2>&1 \
    || { echo "error: student $name (seed $seed) failed; the end of its log:"; tail -n 5 "$dir.log"; exit 1; }
  tail -n 1 "$dir.log"
}
for seed in 1 2 3; do
  student ensemble $seed --teacher "${names[0]}@$address" --teacher "${names[1]}@$address"
  student best-single $seed --teacher "${names[$best]}" --teacher-address "$address"
done
stop_teacher_service

"${trainer[@]}" summarize-ensemble --metric perplexity --teacher-runs "${dirs[@]}" --teacher-names "${names[@]}" \
  --ensemble "mixture-of-${names[0]}+${names[1]}" --best-single "${names[$best]}" --runs "${runs[@]}" \
  --out "$out/report.json" --seconds $(( $(date +%s) - start ))
