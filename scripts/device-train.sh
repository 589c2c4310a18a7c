#!/bin/sh
# Runs `rl train` on the GPU machine (after scripts/device-pack.sh here), from the repository root:
#   SPEED=1 (default)  a speed run at Qwen2.5-0.5B's size: `rl random-model` writes random weights
#                      with the Qwen tokenizer of the fixtures, then examples/speed/qwen2.5-0.5b.yaml
#                      (override keys with SPEED_SET="--set training.steps=20 ...");
#   DEMO=1             the arithmetic demo (examples/arithmetic/rl.yaml) with backend cuda, once per
#                      precision in PRECISIONS (default "bf16 fp32"; overrides in DEMO_SET).
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
# A warm machine keeps runs/ (ignored by git): an earlier run of that name is removed first.
train() {
  name=$1
  shift
  mkdir -p "$LOGS/$name"
  rm -rf "runs/$name"
  start=$(date +%s)
  code=0
  rl train "$@" --set name="$name" > "$LOGS/$name/console.log" 2>&1 || code=$?
  [ $code = 0 ] || status=1
  echo "$name: $(($(date +%s) - start)) s (exit $code)"
  grep -v '^loading' "$LOGS/$name/console.log" | tail -n 8
  cp "runs/$name/metrics.jsonl" "$LOGS/$name/" 2>/dev/null
}

if [ "${SPEED:-1}" = 1 ]; then
  model=/tmp/rl-models/qwen2.5-0.5b
  if [ ! -f "$model/config.json" ]; then
    # Written beside and moved into place, so an interrupted write is never taken for a model.
    rm -rf "$model.partial"
    start=$(date +%s)
    rl random-model qwen2.5-0.5b "$model.partial" --backend cuda \
      --tokenizer core/src/test/resources/fixtures/tokenizers/qwen3 && mv "$model.partial" "$model"
    echo "random-model: $(($(date +%s) - start)) s"
  fi
  if [ -f "$model/config.json" ]; then
    # shellcheck disable=SC2086 # SPEED_SET is a list of --set options
    train speed-qwen2.5-0.5b examples/speed/qwen2.5-0.5b.yaml --set model.path="$model" ${SPEED_SET:-}
  else
    echo "speed run skipped: no model at $model" && status=1
  fi
fi
if [ "${DEMO:-0}" = 1 ]; then
  for PRECISION in ${PRECISIONS:-bf16 fp32}; do
    # shellcheck disable=SC2086 # DEMO_SET is a list of --set options
    train "arithmetic-cuda-$PRECISION" examples/arithmetic/rl.yaml --set model.backend=cuda ${DEMO_SET:-}
  done
fi
exit $status
