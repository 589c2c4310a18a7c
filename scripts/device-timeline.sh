#!/bin/sh
# On the GPU machine (after scripts/device-pack.sh here): a generation run under Nsight Systems,
# to see how much of the run the GPU is idle between kernels (host turnaround between decode steps,
# synchronisations) besides what the kernels take. SHAPE (default llama-3.2-1b), SEQUENCES (256),
# PROMPT (128), NEW (64) as in device-profile.sh; one run, no warm-up, CUDA graphs traced by node.
# Prints the span from the first to the last kernel, the time some kernel ran, the idle gaps by
# size, and the kernels by total time; the report goes to $OUT/timeline.nsys-rep when OUT is set.
set -u
. scripts/device-env.sh
NSYS=$(command -v nsys || ls /opt/nvidia/nsight-systems/*/bin/nsys /usr/local/cuda/bin/nsys 2>/dev/null | head -n 1)
if [ -z "$NSYS" ]; then
  echo "device-timeline: no nsys on this machine" >&2
  exit 2
fi
SHAPE=${SHAPE:-llama-3.2-1b}
"$NSYS" profile -t cuda --cuda-graph-trace=node -o "$LOGS/timeline" --force-overwrite true \
  "$JAVA" $FLAGS -Drl.backend=cuda -Drl.bench.warmup=false -Drl.bench.repeats=1 -cp "$CP" \
  rl.sampler.SamplerBenchmark "$SHAPE" "${PROMPT:-128}" "${NEW:-64}" 8 "${SEQUENCES:-256}" \
  > "$LOGS/timeline.log" 2>&1 || { tail -n 20 "$LOGS/timeline.log"; exit 1; }
grep -E "generated tokens/s" "$LOGS/timeline.log"
"$NSYS" export --type sqlite --force-overwrite true -o "$LOGS/timeline.sqlite" "$LOGS/timeline.nsys-rep" > /dev/null 2>&1
python3 - "$LOGS/timeline.sqlite" <<'PY'
import sqlite3, sys, collections
db = sqlite3.connect(sys.argv[1])
rows = db.execute(
    "SELECT k.start, k.end, s.value FROM CUPTI_ACTIVITY_KIND_KERNEL k "
    "JOIN StringIds s ON s.id = k.shortName ORDER BY k.start").fetchall()
# Decode steps begin after the first sample_rows launch (the prefill's sampling).
first = next(i for i, r in enumerate(rows) if r[2] == "sample_rows") + 1
rows = rows[first:]
span = rows[-1][1] - rows[0][0]
busy, end, gaps = 0, rows[0][0], []
for start, stop, _ in rows:
    if start > end:
        gaps.append(start - end)
    busy += max(0, stop - max(start, end))
    end = max(end, stop)
steps = sum(1 for r in rows if r[2] == "sample_rows")
print(f"decode: {steps} steps, {span/1e6:.2f} ms from first to last kernel, "
      f"{busy/1e6:.2f} ms with a kernel running ({busy/span:.1%}); per step {span/steps/1e3:.1f} us, "
      f"busy {busy/steps/1e3:.1f} us")
for low, high in ((0, 2e3), (2e3, 10e3), (10e3, 100e3), (100e3, 1e12)):
    part = [g for g in gaps if low <= g < high]
    print(f"  gaps {low/1e3:g}-{high/1e3:g} us: {len(part)}, {sum(part)/1e6:.3f} ms")
total, count = collections.Counter(), collections.Counter()
for start, stop, name in rows:
    total[name] += stop - start
    count[name] += 1
for name, ns in total.most_common(25):
    print(f"  {name[:48]:48s} {ns/1e6:8.3f} ms {count[name]:6d} calls {ns/count[name]/1e3:7.1f} us")
PY
