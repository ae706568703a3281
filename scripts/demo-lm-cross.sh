#!/usr/bin/env bash
# Cross-tokenizer distillation on the fortunes corpus (./demo.sh lm-cross): the language-model demo's teacher
# (its tokenizer: 2000 tokens) teaches a student that has a tokenizer of its own (1000 tokens, trained on the
# same train split), which the teacher's targets cannot be compared with token by token. Four students of the
# demo's shape and budget, with that tokenizer: cross-entropy alone (ce); on the positions aligned by bytes with the
# teacher's (the teacher tokenizing each window's text itself), Universal Logit Distillation (uld) and forward KL
# against the teacher's distribution carried over to the student's tokens (projected, which reads the teacher's
# tokenizer); and a black-box student trained on text the teacher writes (sequence-level distillation, blackbox),
# measured on the corpus's test split like the others. They compare in bits per byte: token perplexities of different
# tokenizers count different tokens. Seeds 1-3 (LM_CROSS_SEEDS="1" for one). Writes artifacts/lm-cross/report.json.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-packages.sh
source scripts/jemalloc.sh
use_jemalloc
ensure_packages fortunes
start=$(date +%s)
out=artifacts/lm-cross
mkdir -p "$out"
dotnet build TeacherStudent.sln -c Release -nologo -v quiet
trainer=(dotnet services/StudentTrainer/bin/Release/net10.0/TeacherStudent.StudentTrainer.dll)
source scripts/teacher-service.sh
source scripts/lm-settings.sh
read -r -a seeds <<< "${LM_CROSS_SEEDS:-1 2 3}"

# 1. The teacher (shared with ./demo.sh lm): trained once, reused while its model and report are there.
if [ ! -f "$lm_teacher_dir/report.json" ] || [ ! -f "$lm_teacher_dir/model/config.json" ]; then
  rm -rf "$lm_teacher_dir"
  "${trainer[@]}" train-lm "${lm_teacher_args[@]}" --name teacher --run-directory "$lm_teacher_dir" > "$out/teacher.log" 2>&1 \
    || { echo "error: the teacher failed; the end of $out/teacher.log:"; tail -n 5 "$out/teacher.log"; exit 1; }
fi

# 2. The teacher service.
start_teacher_service "$out/teacher-service.log" --Teacher:Name=fortunes --Teacher:Checkpoint="$lm_teacher_dir/model"
echo "teacher service at $address"

# 3. The students, one at a time. The first trains a 1000-token tokenizer on the train split and the others take
#    it (the black-box student would otherwise train one on its teacher's text), so they share it and none shares
#    the teacher's.
rm -rf "$out/runs"
mkdir -p "$out/runs"
# The black-box student's text: the teacher continues the empty prompt and seven common openings of a fortune,
# 256 samples each (2,048 texts; its report says how many tokens they hold), in calls that may take minutes.
printf '{"prompt": "%s"}\n' "" "The " "A " "I " "You " "If " "When " "Q: " > "$out/prompts.jsonl"
runs=()
student() { # student NAME SEED [args...]
  local name=$1 seed=$2; shift 2
  local dir="$out/runs/$name-s$seed"
  runs+=("$dir")
  "${trainer[@]}" train-lm "${lm_student_args[@]}" --vocabulary-size 1000 --seed "$seed" --name "$name" --run-directory "$dir" "$@" > "$dir.log" 2>&1 \
    || { echo "error: student $name (seed $seed) failed; the end of its log:"; tail -n 5 "$dir.log"; exit 1; }
  tail -n 1 "$dir.log"
}
tokenizer=$out/runs/ce-s${seeds[0]}/tokenizer
for seed in "${seeds[@]}"; do
  student ce "$seed" --mode supervised
  student uld "$seed" --tokenizer "$tokenizer" --mode online --loss uld --alpha 0.5 --k 0 --teacher fortunes --teacher-address "$address"
  student projected "$seed" --tokenizer "$tokenizer" --mode online --loss projected_kl --alpha 0.5 --k 0 --teacher-tokenizer "$lm_teacher_dir/model" \
    --teacher fortunes --teacher-address "$address"
  student blackbox "$seed" --tokenizer "$tokenizer" --mode blackbox --corpus-test true --prompts "$out/prompts.jsonl" --samples 256 --max-new-tokens 128 \
    --generation-seed "$seed" --teacher-timeout-seconds 1800 --teacher fortunes --teacher-address "$address"
done
stop_teacher_service

# 4. The report and the table.
"${trainer[@]}" summarize-lm --teacher-run "$lm_teacher_dir" --runs "${runs[@]}" --out "$out/report.json" --seconds $(( $(date +%s) - start ))
echo "report: $out/report.json"
