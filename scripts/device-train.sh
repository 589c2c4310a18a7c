#!/bin/sh
# Runs `rl train` on the GPU machine (after scripts/device-pack.sh here), from the repository root:
#   SPEED=1 (default)  a speed run at Qwen2.5-0.5B's size: `rl random-model` writes random weights
#                      with the Qwen tokenizer of the fixtures, then examples/speed/qwen2.5-0.5b.yaml
#                      (override keys with SPEED_SET="--set training.steps=20 ...");
#   DEMO=1             the arithmetic demo (examples/arithmetic/rl.yaml) with backend cuda, once per
#                      precision in PRECISIONS (default "bf16 fp32").
# Each run's console log and metrics.jsonl go to $OUT/NAME/ (the device tool brings them back;
# draw the curve there with `rl curve`).
set -u
. scripts/device-env.sh
PRECISION=bf16
# The rl command line, in precision $PRECISION.
rl() {
  # shellcheck disable=SC2086 # FLAGS is a list of options
  "$JAVA" $FLAGS -Drl.cuda.precision="$PRECISION" -Djava.awt.headless=true \
    -Dorg.bytedeco.javacpp.logger=slf4j -cp "$CP" rl.cli.Main "$@"
}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
status=0

# Runs `rl train` as run NAME ($1) with the remaining arguments; keeps its results under $LOGS/NAME.
train() {
  name=$1
  shift
  mkdir -p "$LOGS/$name"
  start=$(date +%s)
  rl train "$@" --set name="$name" > "$LOGS/$name/console.log" 2>&1 || status=1
  echo "$name: $(($(date +%s) - start)) s (exit $status)"
  grep -v '^loading' "$LOGS/$name/console.log" | tail -n 8
  cp "runs/$name/metrics.jsonl" "$LOGS/$name/" 2>/dev/null
}

if [ "${SPEED:-1}" = 1 ]; then
  model=/tmp/rl-models/qwen2.5-0.5b
  if [ ! -f "$model/config.json" ]; then
    start=$(date +%s)
    rl random-model qwen2.5-0.5b "$model" --backend cuda \
      --tokenizer core/src/test/resources/fixtures/tokenizers/qwen3 || status=1
    echo "random-model: $(($(date +%s) - start)) s"
  fi
  # shellcheck disable=SC2086 # SPEED_SET is a list of --set options
  train speed-qwen2.5-0.5b examples/speed/qwen2.5-0.5b.yaml --set model.path="$model" ${SPEED_SET:-}
fi
if [ "${DEMO:-0}" = 1 ]; then
  for PRECISION in ${PRECISIONS:-bf16 fp32}; do
    train "arithmetic-cuda-$PRECISION" examples/arithmetic/rl.yaml --set model.backend=cuda
  done
fi
exit $status
