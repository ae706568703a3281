# The demo's ConvNet teacher, shared by demo.sh and bench.sh so both use the same model.
# Chosen on a validation split (docs/tuning.md).
teacher_args=(--mode supervised --architecture convnet --width 32 --epochs 12 --batch-size 128 --learning-rate 0.002)
teacher_dir=artifacts/demo/teacher
