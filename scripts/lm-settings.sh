# The language-model demo's teacher and students, shared by demo-lm.sh and demo-lm-ensemble.sh.
# The teacher: 3.7M parameters; its tokenizer (2000 tokens) is trained on the train split, and its
# output is padded to 2048 (a multiple of 64), which the service cuts back to the tokenizer's 2000.
lm_teacher_dir=artifacts/lm/teacher
lm_teacher_args=(--mode supervised --layers 4 --width 256 --heads 4 --context-length 128 --vocabulary-size 2000 --pad-vocabulary-to 64
  --batch-size 16 --steps 1400 --learning-rate 1e-3 --min-learning-rate 1e-4 --warmup-steps 100 --dropout 0.1 --eval-interval 200)
# The students: 0.67M parameters, 500 steps of 16 windows of 128 tokens each, whatever they learn from (a seed is added).
lm_student_args=(--layers 2 --width 128 --heads 4 --context-length 128 --batch-size 16 --steps 500 --learning-rate 2e-3
  --min-learning-rate 2e-4 --warmup-steps 50 --eval-interval 100)
