#!/usr/bin/env bash
# Distilling System 2 into System 1 (./demo.sh system2), after Yu et al. 2024 ("Distilling System 2
# into System 1"): a teacher language model learns two tasks with exact answers (coin flip, last-letter
# concatenation) mostly from written-out reasoning, with direct answers rarer; the teacher service
# serves it; on held-out problems we measure the teacher answering directly (System 1) and reasoning
# step by step with a majority vote over samples (System 2). The teacher's System 2 then labels
# training questions it never saw (only clear votes kept; the true answers are never used), the
# student (the teacher's network, fine-tuned) learns question -> answer from those labels alone
# (train-lm --mode blackbox: the labels are only the teacher's text, through Generate), and answers directly. Writes
# artifacts/system2/report.json and prints the table.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
out=artifacts/system2
data=$out/data
mkdir -p "$out"
dotnet build TeacherStudent.sln -c Release -nologo -v quiet
trainer=(dotnet services/StudentTrainer/bin/Release/net10.0/TeacherStudent.StudentTrainer.dll)
source scripts/teacher-service.sh
tasks=(coin_flip last_letter)

# The settings (chosen on research runs of the same pipeline; see docs/demos.md, "Black-box distillation").
# The teacher trains 8000 steps: after 4000 the Llama model still miscopied the middle names of a list, and its
# System 2 got 35.8% of the last-letter problems right (the former GPT, 91.6%); after 8000, 99.4%.
data_args=(--seed 1 --corpus-problems "${S2_CORPUS_PROBLEMS:-20000}" --direct-fraction "${S2_DIRECT_FRACTION:-0.05}"
  --train-questions "${S2_TRAIN_QUESTIONS:-6000}" --test-problems "${S2_TEST_PROBLEMS:-500}")
teacher_args=(--mode supervised --layers 4 --width 128 --heads 4 --context-length 160 --vocabulary-size 1024 --batch-size 16
  --steps "${S2_TEACHER_STEPS:-8000}" --learning-rate 3e-3 --min-learning-rate 3e-4 --warmup-steps 100 --eval-interval 1000 --eval-windows 16 --test-windows 64)
samples=5            # System 2: samples per question, put to a vote
sample_temperature=0.7
agreement=0.6        # labels: keep a training question only when at least 3 of its 5 samples agree
s2_tokens=100        # room for the longest reasoning (six people)
# The student is the teacher's own network, fine-tuned on direct answers (as Yu et al. fine-tune the
# model that reasoned): it starts from the teacher's weights and learns only "question -> answer".
student_args=(--batch-size 16 --steps "${S2_STUDENT_STEPS:-3000}" --learning-rate 1e-3 --min-learning-rate 1e-4 --warmup-steps 50
  --eval-interval 500 --eval-windows 16 --test-windows 64)
# What each answer looks like to the evaluation: the direct prompt ends in "The answer is", the
# reasoning in "So the answer is X."
direct_answer='^\s*([^.\n]+)'
reasoned_answer='answer is ([^.\n]+)'

# 1. Data: the teacher corpus, and per task training questions (no answers) and held-out problems.
"${trainer[@]}" system2-data --out "$data" "${data_args[@]}"

# 2. The teacher: trained once, reused while its model directory and report are there.
teacher_dir=$out/teacher
if [ ! -f "$teacher_dir/report.json" ] || [ ! -f "$teacher_dir/model/config.json" ]; then
  rm -rf "$teacher_dir"
  "${trainer[@]}" train-lm "${teacher_args[@]}" --corpus-file "$data/teacher-corpus.txt" --name teacher --run-directory "$teacher_dir"
fi

evaluate() { # evaluate TEACHER TASK ROLE [args...]: writes $out/evaluations/TASK.ROLE.json
  local teacher=$1 task=$2 role=$3; shift 3
  "${trainer[@]}" evaluate-answers --teacher "$teacher" --teacher-address "$address" --teacher-timeout-seconds 1800 \
    --questions "$data/$task/test.jsonl" --name "$task $role" --out "$out/evaluations/$task.$role.json" "$@"
}
direct() { evaluate "$@" --prompt-field system1_prompt --answer-pattern "$direct_answer" --samples 1 --temperature 0 --max-new-tokens 8; }

# 3. The teacher service (generation cache in process), and the teacher answering directly and by System 2.
rm -rf "$out/evaluations" "$out/student" "$out/student.log"
mkdir -p "$out/evaluations"
start_teacher_service "$out/teacher-service.log" --Teachers:0:Name=reasoner --Teachers:0:Checkpoint="$teacher_dir/model"
echo "teacher service at $address"
for task in "${tasks[@]}"; do
  direct reasoner "$task" teacher_system1
  evaluate reasoner "$task" teacher_system2 --prompt-field system2_prompt --answer-pattern "$reasoned_answer" --samples $samples \
    --temperature $sample_temperature --max-new-tokens $s2_tokens --seed 7
done

# 4. The student: the teacher's System 2 labels the training questions of both tasks (through
# Generate, as a black box), and the student learns "question -> answer" from the clear votes only.
cat "$data"/*/train-prompts.jsonl > "$data/train-prompts.jsonl"
dir=$out/student
"${trainer[@]}" train-lm "${student_args[@]}" --mode blackbox --init-checkpoint "$teacher_dir/model" --name student --run-directory "$dir" \
  --teacher reasoner --teacher-address "$address" --teacher-timeout-seconds 1800 \
  --prompts "$data/train-prompts.jsonl" --prompt-field system2_prompt --student-prompt-field system1_prompt \
  --samples $samples --generation-temperature $sample_temperature --max-new-tokens $s2_tokens --generation-seed 11 \
  --answer-pattern "$reasoned_answer" --agreement $agreement --answer-template ' {answer}.' > "$dir.log" 2>&1 \
  || { echo "error: the student failed; the end of its log:"; tail -n 5 "$dir.log"; exit 1; }
grep -E "samples \(|done:" "$dir.log" || true
stop_teacher_service

# 5. The student answers directly, served like any teacher.
start_teacher_service "$out/student-service.log" --Teachers:0:Name=student --Teachers:0:Checkpoint="$dir/model"
for task in "${tasks[@]}"; do direct student "$task" student_system1; done
stop_teacher_service

# 6. The report and the table.
"${trainer[@]}" summarize-system2 --evaluations "$out/evaluations" --tasks "${tasks[@]}" --out "$out/report.json" --seconds $(( $(date +%s) - start ))
echo "report: $out/report.json"
