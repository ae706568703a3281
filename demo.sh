#!/usr/bin/env bash
# The Fashion-MNIST distillation demo, end to end:
#   trains the ConvNet teacher (once; a second run reuses it), starts the teacher service on a
#   loopback port, runs the students against it (several at a time), stops the service and
#   prints a table; writes artifacts/demo/report.json.
# The teacher caches soft targets in process; REDIS=host:port ./demo.sh uses that Redis instead.
# ./demo.sh self runs the born-again (self-distillation) demo instead: scripts/demo-self.sh;
# ./demo.sh lm the language-model demo on the fortunes corpus: scripts/demo-lm.sh;
# ./demo.sh system2 distils a teacher's step-by-step reasoning into direct answers: scripts/demo-system2.sh;
# ./demo.sh ensemble teaches students with an ensemble of three teachers: scripts/demo-ensemble.sh;
# ./demo.sh lm-ensemble the language-model students with two: scripts/demo-lm-ensemble.sh;
# ./demo.sh lm-cross a student with another tokenizer than its teacher's: scripts/demo-lm-cross.sh;
# ./demo.sh patient function matching (consistent views, long schedules): scripts/demo-patient.sh.
set -euo pipefail
cd "$(dirname "$0")"
# Every demo trains and serves on jemalloc with freed pages kept (scripts/jemalloc.sh): a ConvNet
# epoch took 16.5-16.7 s on it against 23.5-24.4 s on glibc's malloc, with the same accuracy.
source scripts/ensure-packages.sh
source scripts/jemalloc.sh
use_jemalloc
case "${1:-fashion}" in
  fashion) ;;
  self) exec scripts/demo-self.sh ;;
  lm) exec scripts/demo-lm.sh ;;
  system2) exec scripts/demo-system2.sh ;;
  ensemble) exec scripts/demo-ensemble.sh ;;
  lm-ensemble) exec scripts/demo-lm-ensemble.sh ;;
  lm-cross) exec scripts/demo-lm-cross.sh ;;
  patient) exec scripts/demo-patient.sh ;;
  *) echo "error: unknown demo '$1'; known: fashion (the default), self, lm, system2, ensemble, lm-ensemble, lm-cross, patient" >&2; exit 2 ;;
esac
ensure_packages dataset-fashion-mnist

start=$(date +%s)
out=artifacts/demo
mkdir -p "$out"
dotnet build TeacherStudent.sln -c Release -nologo -v quiet
trainer=(dotnet services/StudentTrainer/bin/Release/net10.0/TeacherStudent.StudentTrainer.dll train)
source scripts/teacher-service.sh

source scripts/teacher-settings.sh
# Chosen on a validation split carved from the training set (see docs/tuning.md).
student_args=(--architecture mlp --width 512 --epochs 12 --batch-size 128 --learning-rate 0.002 --temperature 4)
few_alpha=0.9   # with few labels the teacher term carries the 57,000 unlabelled examples
all_alpha=0.5   # with every label kept, labels and teacher share the weight
few_labels=3000

# 1. The teacher: trained once, reused while its checkpoint and report are there.
if [ ! -f "$teacher_dir/report.json" ]; then
  "${trainer[@]}" "${teacher_args[@]}" --name teacher --run-directory "$teacher_dir"
fi

# 2. The teacher service on a free loopback port.
cache_args=()
[ -n "${REDIS:-}" ] && cache_args=(--Cache:Redis="$REDIS")
start_teacher_service "$out/teacher-service.log" --Teacher:Name=fashion --Teacher:Checkpoint="$teacher_dir/model.ckpt" "${cache_args[@]}"
echo "teacher service at $address (cache: ${REDIS:-in-process})"

# 3. The students, two at a time (this machine has two cores), each its own process.
runs=()
pids=()
student() { # student NAME SCENARIO MODE SEED [extra args...]
  local name=$1 scenario=$2 mode=$3 seed=$4; shift 4
  local dir="$out/runs/$scenario/$name-s$seed"
  runs+=("$dir")
  while [ "$(jobs -rp | grep -v "^$service\$" | wc -l)" -ge 2 ]; do wait -n || true; done
  "${trainer[@]}" "${student_args[@]}" --mode "$mode" --seed "$seed" --name "$name" --scenario "$scenario" \
    --run-directory "$dir" --targets-directory "$out/targets" --teacher-address "$address" --threads 1 "$@" \
    > "$dir.log" 2>&1 &
  pids+=($!)
}
# Students train afresh on every run (the teacher and the offline targets file are reused).
rm -rf "$out/runs"
mkdir -p "$out/runs/few_labels" "$out/runs/all_labels"
student online few_labels online 1 --labels $few_labels --alpha $few_alpha
student offline few_labels offline 1 --labels $few_labels --alpha $few_alpha
student pseudo few_labels pseudo 1 --labels $few_labels
student supervised few_labels supervised 1 --labels $few_labels
for seed in 1 2 3; do
  student supervised all_labels supervised $seed
  student offline all_labels offline $seed --alpha $all_alpha
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
stop_teacher_service
if [ $failed -ne 0 ]; then
  echo "error: a student failed; the end of each student's log:"
  for dir in "${runs[@]}"; do [ -f "$dir/report.json" ] || { echo "== $dir.log"; tail -n 5 "$dir.log"; }; done
  exit 1
fi

# 4. The report and the table.
dotnet services/StudentTrainer/bin/Release/net10.0/TeacherStudent.StudentTrainer.dll summarize \
  --teacher-run "$teacher_dir" --runs "${runs[@]}" --out "$out/report.json" --seconds $(( $(date +%s) - start ))
