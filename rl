#!/bin/sh
# The rl launcher: finds a JDK 25+, (re)builds the distribution when sources changed, runs the CLI.
# Environment: JAVA_HOME (checked first), RL_JDK_DIRS (where else to look; default /usr/lib/jvm/*),
# RL_JAVA_OPTS (extra JVM options, e.g. -Xmx16g).
set -eu

ROOT=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
REQUIRED=25

# Major version of the java binary $1; empty if it does not run.
java_major() {
  "$1" -version 2>&1 | sed -n 's/^[^"]*"\([0-9][0-9]*\)[^"]*".*/\1/p' | head -n 1
}

JAVA=""
found=""
# Takes java binary $1 (found through $2) if it is new enough; notes it either way.
consider() {
  [ -z "$JAVA" ] && [ -x "$1" ] || return 0
  major=$(java_major "$1")
  found="$found${found:+, }$2 $1 (${major:+version }${major:-does not run})"
  if [ -n "$major" ] && [ "$major" -ge "$REQUIRED" ]; then JAVA=$1; fi
}

if [ -n "${JAVA_HOME:-}" ]; then consider "$JAVA_HOME/bin/java" "JAVA_HOME:"; fi
if command -v java >/dev/null 2>&1; then consider "$(command -v java)" "PATH:"; fi
for dir in ${RL_JDK_DIRS:-/usr/lib/jvm/*}; do consider "$dir/bin/java" "$dir:"; done
if [ -z "$JAVA" ]; then
  echo "rl: needs a JDK $REQUIRED or newer, found ${found:-no java} (looked in JAVA_HOME, PATH and ${RL_JDK_DIRS:-/usr/lib/jvm/*}); install one or point JAVA_HOME at it" >&2
  exit 1
fi
JAVA_HOME=$(CDPATH='' cd -- "$(dirname -- "$JAVA")/.." && pwd)
export JAVA_HOME

# Build the distribution on first use, and again when any source or POM is newer than it.
DIST="$ROOT/app/target/lib"
STAMP="$DIST/.built"
stale=""
if [ ! -f "$STAMP" ]; then
  stale="first use"
elif [ -n "$(cd "$ROOT" && find pom.xml ./*/pom.xml ./*/src -newer "$STAMP" -type f 2>/dev/null | head -n 1)" ]; then
  stale="sources changed"
fi
if [ -n "$stale" ]; then
  echo "rl: building the distribution ($stale)..." >&2
  log=$(mktemp "${TMPDIR:-/tmp}/rl-build.XXXXXX")
  if ! (cd "$ROOT" && ./mvnw --batch-mode --no-transfer-progress -DskipTests package) >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "rl: build failed; full log in $log" >&2
    exit 1
  fi
  rm -f "$log"
  touch "$STAMP"
fi

# JNI loading is a restricted operation and JavaCPP still uses sun.misc.Unsafe: allow both quietly;
# JavaCPP logs through SLF4J so its version-mismatch notice (ND4J's presets are 1.5.7) stays quiet.
# shellcheck disable=SC2086 # RL_JAVA_OPTS is a list of options
exec "$JAVA" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
  -Djava.awt.headless=true -Dorg.bytedeco.javacpp.logger=slf4j ${RL_JAVA_OPTS:-} -Drl.home="$ROOT" \
  -cp "$ROOT/app/target/rl.jar:$DIST/*" rl.cli.Main "$@"
