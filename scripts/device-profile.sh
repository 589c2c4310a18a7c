#!/bin/sh
# On the GPU machine (after scripts/device-pack.sh here): where a generation run's GPU time goes,
# kernel by kernel, through Nsight Compute (one metric, gpu__time_duration, so each kernel is
# replayed once). Short run by default: SHAPE=qwen2.5-0.5b, 256 sequences, 128-token prompts
# (PROMPT=), 16 new tokens (NEW=); with WHAT=learn one learner step (16 x 512 tokens) instead,
# timed after its warm-up step. Kernels run at the clocks and with the caches they would have
# outside the profiler (--clock-control none --cache-control none: a product's output read by the
# next kernel comes from L2 as in a real step); NCU_FLAGS= replaces those two flags.
# KERNELS=REGEX instead reports Nsight Compute's speed-of-light, occupancy, launch and warp-stall
# sections for COUNT (default 6) launches of the kernels matching REGEX, after SKIP (default 64).
# Prints the kernels by total time (a generation run's prefill and decode steps apart); the raw
# CSV goes to $OUT/ncu-$WHAT.csv when OUT is set.
set -u
. scripts/device-env.sh
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -n 1)
WHAT=${WHAT:-generate}
SHAPE=${SHAPE:-qwen2.5-0.5b}
if [ "$WHAT" = learn ]; then
  MAIN="rl.learner.LearnerBenchmark $SHAPE ${SEQUENCES:-16} 512 8192 1"
else
  MAIN="-Drl.bench.warmup=false -Drl.bench.repeats=1 rl.sampler.SamplerBenchmark $SHAPE ${PROMPT:-128} ${NEW:-16} 8 ${SEQUENCES:-256}"
fi
if [ -n "${KERNELS:-}" ]; then
  "$NCU" ${NCU_FLAGS---clock-control none --cache-control none} -k "regex:$KERNELS" \
    --launch-skip "${SKIP:-64}" --launch-count "${COUNT:-6}" --section SpeedOfLight \
    --section Occupancy --section LaunchStats --section WarpStateStats --section SchedulerStats \
    "$JAVA" $FLAGS -Drl.backend=cuda -cp "$CP" $MAIN > "$LOGS/ncu-detail.txt" 2>&1
  code=$?
  grep -E "^  [a-z_]+.*\(|Duration|Memory Throughput|DRAM Throughput|Compute \(SM\)|Registers Per|Shared Memory Config|Dynamic Shared|Theoretical Occ|Achieved Occ|Block Limit|Warp Cycles Per Issued|Issued Warp|No Eligible|Active Warps Per|Eligible Warps" "$LOGS/ncu-detail.txt"
  exit $code
fi
"$NCU" ${NCU_FLAGS---clock-control none --cache-control none} --metrics gpu__time_duration.sum --csv --print-units base \
  "$JAVA" $FLAGS -Drl.backend=cuda -cp "$CP" \
  $MAIN > "$LOGS/ncu-$WHAT.csv" 2> "$LOGS/ncu-$WHAT.err"
tail -n 3 "$LOGS/ncu-$WHAT.err"
python3 - "$LOGS/ncu-$WHAT.csv" "$WHAT" <<'PY'
import csv, sys, collections
rows = [r for r in csv.reader(open(sys.argv[1])) if len(r) > 10]
head = rows[0]
name, metric, value = head.index("Kernel Name"), head.index("Metric Name"), head.index("Metric Value")
launches = [(r[name].split("(")[0][:60], float(r[value].replace(",", "")))
            for r in rows[1:] if r[metric] == "gpu__time_duration.sum"]
if sys.argv[2] == "learn":
    # The benchmark's warm-up step, then the measured one: each ends with AdamW launches.
    ends = [i for i, (k, _) in enumerate(launches) if k == "adamw"]
    starts = [i for i in range(1, len(ends)) if ends[i] != ends[i - 1] + 1]
    first = ends[starts[0] - 1] + 1 if starts else 0
    phases = {"learner step after warm-up": launches[first:]}
else:
    # Prefill ends with the first sampling launch; every later launch belongs to a decode step.
    first = next(i for i, (k, _) in enumerate(launches) if k == "sample_rows") + 1
    steps = sum(1 for k, _ in launches[first:] if k == "sample_rows")
    phases = {"prefill": launches[:first], f"decode ({steps} steps)": launches[first:]}
for phase, part in phases.items():
    total, count = collections.Counter(), collections.Counter()
    for k, ns in part:
        total[k] += ns
        count[k] += 1
    all_ns = sum(total.values())
    print(f"\n{phase}: {all_ns/1e6:.2f} ms of kernels in {len(part)} launches")
    print(f"{'kernel':60s} {'calls':>7s} {'total ms':>9s} {'share':>6s} {'mean us':>8s}")
    for k, ns in total.most_common(22):
        print(f"{k:60s} {count[k]:7d} {ns/1e6:9.2f} {100*ns/all_ns:5.1f}% {ns/count[k]/1e3:8.1f}")
PY
