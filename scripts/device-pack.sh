#!/bin/sh
# Packs what a GPU machine without Java needs to run the CUDA checks, the benchmarks and `rl train`
# into .device/ (ignored by git; the device tool carries it):
#   runtime.tar.xz   a jlink'd Java 25 runtime (without AWT's native libraries: the learning-curve
#                    PNG is drawn afterwards, off the device, with `rl curve RUN_DIR`);
#   jars.tar.xz      lib/: rl.jar and the jars `rl train` needs, less ND4J's (the device runs the
#                    CUDA backend), the chart library's and those it never loads; test/: the test
#                    classes, the JUnit console and ops-reference.bin (the ND4J outputs CudaOps is
#                    compared against). The jars are rewritten uncompressed, with only the Linux
#                    x86-64 natives and the CUDA bindings we call (cudart, cuBLAS, NVRTC), so that
#                    one xz stream compresses them all (15 MB instead of the jars' 45).
# Prints the sizes and fails when the working tree plus .device come near 64 MiB (the device
# tool's limit).
#   scripts/device-pack.sh     then on the device: sh scripts/device-check.sh (or device-train.sh)
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
JAR="$JAVA_HOME/bin/jar"

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/device-pack.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
rm -rf "$OUT" && mkdir -p "$OUT" "$STAGE/jars/lib" "$STAGE/jars/test" "$STAGE/in"
MVN="./mvnw --batch-mode --no-transfer-progress -q"
# ND4J and everything only it pulls in stay behind, and so does the chart library; so do the jars
# `rl train` never loads (checked with -Xlog:class+load): Jackson 3, commons-compress, javassist,
# Netty's HTTP/3 and QUIC codecs.
NOT_ON_DEVICE=openblas,byteunits,commons-math3,commons-collections4,flatbuffers-java,oshi-core
NOT_ON_DEVICE=$NOT_ON_DEVICE,jna-platform,threetenbp,neoitertools,commons-io,commons-codec
NOT_ON_DEVICE=$NOT_ON_DEVICE,xchart,VectorGraphics2D,graphics2d,pdfbox,pdfbox-io,fontbox
NOT_ON_DEVICE=$NOT_ON_DEVICE,commons-logging,animated-gif-lib,commons-compress,javassist
NOT_ON_DEVICE=$NOT_ON_DEVICE,netty-codec-http3,netty-codec-classes-quic
$MVN -pl app -am package -DskipTests dependency:copy-dependencies -DincludeScope=runtime \
  -DoutputDirectory="$STAGE/in" -DexcludeGroupIds=org.nd4j,tools.jackson.core -DexcludeArtifactIds="$NOT_ON_DEVICE"
cp app/target/rl.jar "$STAGE/in/"
# The ND4J outputs the GPU must reproduce (OpsCasesTest writes them).
$MVN -pl cuda -am test -Dtest=OpsCasesTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Drl.cuda.writeReference="$STAGE/jars/test/ops-reference.bin" >/dev/null
# The JUnit console runs the GPU tests there; its platform version goes with the JUnit BOM's.
$MVN -pl cuda dependency:copy -DoutputDirectory="$STAGE/junit" \
  -Dartifact=org.junit.platform:junit-platform-console-standalone:${JUNIT_PLATFORM:-1.14.4}
"$JAR" --create --no-compress --file "$STAGE/jars/test/core-tests.jar" -C core/target/test-classes rl
"$JAR" --create --no-compress --file "$STAGE/jars/test/cuda-tests.jar" -C cuda/target/test-classes rl

# Rewrites jar $1 uncompressed into directory $2, without what the device cannot use.
slim() {
  name=$(basename "$1")
  dir="$STAGE/x"
  rm -rf "$dir" && mkdir "$dir" && (cd "$dir" && "$JAR" --extract --file "$1")
  case $name in
    tokenizers-*) find "$dir/native/lib" -mindepth 1 -maxdepth 1 -type d ! -name linux-x86_64 -exec rm -rf {} + ;;
    jna-*) find "$dir/com/sun/jna" -mindepth 1 -maxdepth 1 -type d -name '*-*' ! -name linux-x86-64 \
      -exec rm -rf {} + ;;
    chart.js-*) find "$dir/META-INF/resources/webjars/chart.js" -type f ! -name chart.umd.min.js \
      -delete ;;
    cuda-*-linux-x86_64.jar) find "$dir/org/bytedeco/cuda/linux-x86_64" -name '*.so*' \
      ! -name libjnicudart.so ! -name libjnicublas.so ! -name libjninvrtc.so -delete ;;
  esac
  "$JAR" --create --no-compress --file "$2/$name" -M -C "$dir" .
}
for jar in "$STAGE"/in/*.jar; do slim "$jar" "$STAGE/jars/lib"; done
slim "$STAGE"/junit/*.jar "$STAGE/jars/test"
tar -C "$STAGE/jars" -cJf "$OUT/jars.tar.xz" lib test

# java.logging and java.management: the JUnit console; jdk.unsupported: JavaCPP's Unsafe;
# java.sql (picocli's converters), java.naming and jdk.net (Vert.x and Netty) and java.desktop
# (java.beans, which jinjava's expression language needs) for `rl train`. java.desktop's native
# libraries (AWT, fonts, images: 6 MB) stay out, so no chart can be drawn there.
"$JAVA_HOME/bin/jlink" --add-modules \
  java.base,java.logging,java.management,jdk.unsupported,java.sql,java.naming,jdk.net,java.desktop \
  --exclude-files='glob:/java.desktop/lib/*' \
  --strip-debug --no-header-files --no-man-pages --compress=zip-0 --output "$STAGE/runtime"
tar -C "$STAGE" -cJf "$OUT/runtime.tar.xz" runtime

tracked=$(git ls-files -z | du -cb --files0-from=- | tail -n 1 | cut -f 1)
packed=$(du -cb "$OUT" | tail -n 1 | cut -f 1)
echo "device-pack: $OUT holds $((packed >> 20)) MiB; tracked files $((tracked >> 20)) MiB; together $(((packed + tracked) >> 20)) MiB of 64"
# The tool counts a little more than these two sums (it refused 63.9 MiB by this count): keep a
# margin of half a MiB.
limit=$(((64 << 20) - (1 << 19)))
if [ $((packed + tracked)) -gt $limit ]; then
  echo "device-pack: $((packed + tracked - limit)) bytes over the $limit the device tool takes" >&2
  exit 1
fi
