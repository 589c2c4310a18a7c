#!/bin/sh
# On the GPU machine (after scripts/device-pack.sh here): where a generation run's GPU time goes,
# kernel by kernel, through Nsight Compute (one metric, gpu__time_duration, so each kernel is
# replayed once). Short run by default: SHAPE=qwen2.5-0.5b, 256 sequences, 16 new tokens.
# Prints the kernels by total time; the raw CSV goes to $OUT/ncu.csv when OUT is set.
set -u
D=.device
LOGS=${OUT:-/tmp/rl-device}
mkdir -p "$LOGS" /tmp/rl-java
tar -C /tmp/rl-java -xJf "$D/runtime.tar.xz" || exit 1
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
export RL_CUDA_CACHE=/tmp/rl-cuda-cache
CP=$(ls "$D"/lib/*.jar | tr '\n' ':')
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -n 1)
"$NCU" --metrics gpu__time_duration.sum --csv --print-units base \
  /tmp/rl-java/runtime/bin/java --enable-native-access=ALL-UNNAMED \
  --sun-misc-unsafe-memory-access=allow -Xmx16g ${JAVA_OPTS:-} -Drl.backend=cuda -cp "$CP" \
  rl.sampler.SamplerBenchmark "${SHAPE:-qwen2.5-0.5b}" 128 "${NEW:-16}" 8 "${SEQUENCES:-256}" \
  > "$LOGS/ncu.csv" 2> "$LOGS/ncu.err"
tail -n 3 "$LOGS/ncu.err"
python3 - "$LOGS/ncu.csv" <<'PY'
import csv, sys, collections
rows = [r for r in csv.reader(open(sys.argv[1])) if len(r) > 10]
head = rows[0]
name, metric, value = head.index("Kernel Name"), head.index("Metric Name"), head.index("Metric Value")
total, count = collections.Counter(), collections.Counter()
for r in rows[1:]:
    if r[metric] == "gpu__time_duration.sum":
        k = r[name].split("(")[0][:60]
        total[k] += float(r[value].replace(",", ""))
        count[k] += 1
all_ns = sum(total.values())
print(f"{'kernel':60s} {'calls':>7s} {'total ms':>9s} {'share':>6s} {'mean us':>8s}")
for k, ns in total.most_common(20):
    print(f"{k:60s} {count[k]:7d} {ns/1e6:9.2f} {100*ns/all_ns:5.1f}% {ns/count[k]/1e3:8.1f}")
print(f"all kernels: {all_ns/1e6:.1f} ms in {sum(count.values())} launches")
PY
