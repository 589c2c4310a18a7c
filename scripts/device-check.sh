#!/bin/sh
# Runs on the GPU machine (no Java, no network) from the repository root, after
# scripts/device-pack.sh filled .device/ here and the device tool carried it:
#   1. the GPU checks: CudaOps against ND4J's outputs for every op, the model fixtures
#      (logprobs, loss and LoRA gradients, greedy continuations) on CudaOps, and (fp32) LoRA and
#      full-weight gradients against finite differences;
#   2. the generation and learner benchmarks on the GPU, when asked: BENCH=1 (BENCHES="learner"
#      runs one of them; CHECKS=0 skips 1;
#      RLSTEP=1 times whole RL steps by phase;
#      JAVA_OPTS=-Drl.cuda.math=tf32 runs them with tensor-core float32 products).
# Writes logs under $OUT when set (the device tool brings them back).
set -u
. scripts/device-env.sh
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader
"$JAVA" -version 2>&1 | head -n 1

status=0
if [ "${CHECKS:-1}" = 1 ]; then
  # Ops conformance (both precisions inside the test), then the model fixtures in float32 mode
  # (the fixtures' own tolerances, greedy exact) and in bf16 mode (the bf16 tolerances).
  for precision in fp32 bf16; do
    classes="--select-class rl.core.model.ModelFixtureTest"
    [ $precision = fp32 ] && classes="--select-class rl.cuda.CudaOpsConformanceTest --select-class rl.cuda.StepGraphsTest --select-class rl.core.model.ModelGradientTest $classes"
    "$JAVA" $FLAGS -Drl.backend=cuda -Drl.cuda.precision=$precision \
      -Drl.cuda.reference="$TEST/ops-reference.bin" -Drl.fixtures=core/src/test/resources/fixtures \
      -jar "$TEST"/junit-platform-console-standalone-*.jar execute \
      --class-path "${CP}$TEST/core-tests.jar:$TEST/cuda-tests.jar" $classes \
      --details=tree --disable-banner > "$LOGS/checks-$precision.log" 2>&1
    tail -n 100 "$LOGS/checks-$precision.log"
    grep -Eq "\[ +0 tests failed" "$LOGS/checks-$precision.log" || status=1
    grep -Eq "\[ +[1-9][0-9]* tests successful" "$LOGS/checks-$precision.log" || status=1
  done
fi
if [ "${BENCH:-0}" = 1 ]; then
  for shape in ${SHAPES:-qwen2.5-0.5b}; do
    case " ${BENCHES:-sampler learner} " in *" sampler "*)
      "$JAVA" $FLAGS -Drl.backend=cuda -cp "$CP" rl.sampler.SamplerBenchmark "$shape" 128 256 8 \
        ${CONCURRENCY:-64 256} 2>&1 | tee -a "$LOGS/bench.log" ;;
    esac
    case " ${BENCHES:-sampler learner} " in *" learner "*)
      "$JAVA" $FLAGS -Drl.backend=cuda -cp "$CP" rl.learner.LearnerBenchmark "$shape" 16 512 8192 3 \
        2>&1 | tee -a "$LOGS/bench.log" ;;
    esac
  done
fi
if [ "${RLSTEP:-0}" = 1 ]; then
  # Whole RL steps (sample, score, learn, sync) on the GPU: 32 prompts x G=8, 128 + 256 tokens.
  for shape in ${SHAPES:-qwen2.5-0.5b}; do
    "$JAVA" $FLAGS -Drl.backend=cuda -cp "$CP" rl.bench.RlStepBenchmark "$shape" 32 8 128 256 8192 4 \
      2>&1 | tee -a "$LOGS/rlstep.log"
  done
fi
exit $status
