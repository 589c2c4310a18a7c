#!/bin/sh
# Packs what a GPU machine without Java needs to run the CUDA checks and benchmarks into .device/
# (ignored by git; the device tool carries it): a jlink'd Java 25 runtime as one .tar.xz, the jars
# of rl-core, rl-cuda, rl-sampler, rl-learner and rl-app with the few libraries they use there (no ND4J,
# no tokenizers), the test classes with the JUnit console, and the ND4J reference outputs the GPU
# is compared against. Prints the sizes; the working tree plus .device must stay under 64 MiB.
#   scripts/device-pack.sh            then on the device: sh scripts/device-check.sh
set -eu
ROOT=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
cd "$ROOT"
OUT=.device

JAVA_HOME=${JAVA_HOME:-}
if [ -z "$JAVA_HOME" ] || ! "$JAVA_HOME/bin/java" -version 2>&1 | grep -q '"2[5-9]'; then
  JAVA_HOME=$(ls -d /usr/lib/jvm/*25* 2>/dev/null | head -n 1)
fi
[ -x "$JAVA_HOME/bin/jlink" ] || { echo "device-pack: needs a JDK 25 with jlink (JAVA_HOME)" >&2; exit 1; }
export JAVA_HOME

rm -rf "$OUT" && mkdir -p "$OUT/lib" "$OUT/test"
MVN="./mvnw --batch-mode --no-transfer-progress -q"
$MVN -pl cuda,sampler,learner,app -am package -DskipTests
# The ND4J outputs the GPU must reproduce (OpsCasesTest writes them).
$MVN -pl cuda -am test -Dtest=OpsCasesTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Drl.cuda.writeReference="$ROOT/$OUT/ops-reference.bin" >/dev/null
$MVN -pl learner dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$ROOT/$OUT/deps" \
  -DincludeArtifactIds=jackson-databind,jackson-core,jackson-annotations,slf4j-api -DexcludeGroupIds=tools.jackson.core
$MVN -pl cuda dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$ROOT/$OUT/deps" \
  -DincludeArtifactIds=javacpp,cuda
# The JUnit console runs the GPU tests there; its platform version goes with the JUnit BOM's.
$MVN -pl cuda dependency:copy -DoutputDirectory="$ROOT/$OUT/testdeps" \
  -Dartifact=org.junit.platform:junit-platform-console-standalone:${JUNIT_PLATFORM:-1.14.4}
mv "$OUT"/deps/*.jar "$OUT/lib/" && rmdir "$OUT/deps"
cp core/target/rl-core-*.jar cuda/target/rl-cuda-*.jar sampler/target/rl-sampler-*.jar \
  learner/target/rl-learner-*.jar "$OUT/lib/"
# The app jar for rl.bench.RlStepBenchmark, which needs none of its Vert.x or CLI libraries.
cp app/target/rl.jar "$OUT/lib/rl-app.jar"
rm -f "$OUT"/lib/*-tests.jar
"$JAVA_HOME/bin/jar" --create --file "$OUT/test/core-tests.jar" -C core/target/test-classes rl
"$JAVA_HOME/bin/jar" --create --file "$OUT/test/cuda-tests.jar" -C cuda/target/test-classes rl
mv "$OUT"/testdeps/*.jar "$OUT/test/" && rmdir "$OUT/testdeps"

# java.logging and java.management: the JUnit console; jdk.unsupported: JavaCPP's Unsafe.
"$JAVA_HOME/bin/jlink" --add-modules java.base,java.logging,java.management,jdk.unsupported \
  --strip-debug --no-header-files --no-man-pages --compress=zip-0 --output "$OUT/runtime"
tar -C "$OUT" -cJf "$OUT/runtime.tar.xz" runtime && rm -rf "$OUT/runtime"

tracked=$(git ls-files -z | du -cb --files0-from=- | tail -n 1 | cut -f 1)
packed=$(du -cb "$OUT" | tail -n 1 | cut -f 1)
echo "device-pack: $OUT holds $((packed >> 20)) MiB; tracked files $((tracked >> 20)) MiB; together $(((packed + tracked) >> 20)) MiB of 64"
