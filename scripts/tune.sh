#!/usr/bin/env bash
# The validation runs behind the demo's settings (docs/tuning.md).
# Every run holds out the same 5,000 training images (--validation 5000) and is scored on them;
# the test set is never looked at. The teacher of the sweep is trained on the other 55,000 and
# used in process (--teacher-checkpoint), so no service is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-packages.sh
ensure_packages dataset-fashion-mnist
dotnet build services/StudentTrainer -c Release -nologo -v quiet
out=artifacts/tune
mkdir -p "$out"
train() { local name=$1; shift
  [ -f "$out/$name/report.json" ] || dotnet services/StudentTrainer/bin/Release/net10.0/TeacherStudent.StudentTrainer.dll train \
    --validation 5000 --threads 2 --name "$name" --run-directory "$out/$name" --targets-directory "$out/targets" "$@" > "$out/$name.log"
  grep -o '"accuracy": [0-9.]*' "$out/$name/report.json" | head -n 1 | sed "s/\"accuracy\"/$name/"
}
teacher=(--mode supervised --architecture convnet --width 32)
train teacher-e8 "${teacher[@]}" --epochs 8
train teacher-e12 "${teacher[@]}" --epochs 12
t=(--teacher-checkpoint "$out/teacher-e8/model.ckpt")
mlp=(--architecture mlp --epochs 12)
train few-supervised-w256 "${mlp[@]}" --width 256 --mode supervised --labels 3000
train few-supervised-w512 "${mlp[@]}" --width 512 --mode supervised --labels 3000
train few-supervised-w512-e16 --architecture mlp --epochs 16 --width 512 --mode supervised --labels 3000
for T in 2 4 8; do train few-offline-T$T "${mlp[@]}" --width 512 --mode offline --labels 3000 --temperature $T --alpha 0.9 "${t[@]}"; done
train few-pseudo "${mlp[@]}" --width 512 --mode pseudo --labels 3000 --temperature 4 "${t[@]}"
train few-online "${mlp[@]}" --width 512 --mode online --labels 3000 --temperature 4 --alpha 0.9 "${t[@]}"
train all-supervised "${mlp[@]}" --width 512 --mode supervised
for a in 0.9 0.5; do train all-offline-a$a "${mlp[@]}" --width 512 --mode offline --temperature 4 --alpha $a "${t[@]}"; done
# Function matching (issue 16, part 3): online students with alpha 1 on consistent views (the same view to
# teacher and student: shifts and flips, mixup within the batch, and random crops or not), the 12-epoch teacher
# as in the demo, 24 epochs (2x the demo's students).
t12=(--teacher-checkpoint "$out/teacher-e12/model.ckpt")
fm=(--architecture mlp --width 512 --mode online --alpha 1 --temperature 1 "${t12[@]}") # online: shifts and flips by default
train fm-T1-e24 "${fm[@]}" --mixup true --crops true --epochs 24
train fm-T1-nocrops-e24 "${fm[@]}" --mixup true --epochs 24
# 10x the students' epochs, as the issue allows: mixup or not.
train fm-T1-mixup-e120 "${fm[@]}" --mixup true --epochs 120
train fm-T1-aug-e120 "${fm[@]}" --epochs 120
