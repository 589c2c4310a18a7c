# Sourced by the device-*.sh scripts on the GPU machine (no Java, no network), from the repository
# root, after scripts/device-pack.sh filled .device/ here: unpacks the runtime and the jars into
# /tmp/rl-java (again only when the pack changed: a warm machine keeps /tmp) and sets JAVA, FLAGS
# (the JVM options), CP (the jars of lib/), TEST (test/: test classes, JUnit console,
# ops-reference.bin) and LOGS (where logs go: $OUT when the device tool set it).
D=.device
LOGS=${OUT:-/tmp/rl-device}
mkdir -p "$LOGS" /tmp/rl-java
stamp=$(cat "$D/runtime.tar.xz" "$D/jars.tar.xz" | cksum)
if [ "$(cat /tmp/rl-java/.pack 2>/dev/null)" != "$stamp" ]; then
  rm -rf /tmp/rl-java/runtime /tmp/rl-java/lib /tmp/rl-java/test
  tar -C /tmp/rl-java -xJf "$D/runtime.tar.xz" || exit 1
  tar -C /tmp/rl-java -xJf "$D/jars.tar.xz" || exit 1
  echo "$stamp" > /tmp/rl-java/.pack
fi
JAVA=/tmp/rl-java/runtime/bin/java
FLAGS="--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -Xmx16g ${JAVA_OPTS:-}"
CP=$(ls /tmp/rl-java/lib/*.jar | tr '\n' ':')
TEST=/tmp/rl-java/test
export RL_CUDA_CACHE=/tmp/rl-cuda-cache
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
