#!/bin/sh
# tests/docs/run.sh — every example of lang/reference.md compiles (and the
# runnable ones run), so the document cannot go stale.
#
#   TEXC=build/texc RUNNER=build/tests/docs_runner sh tests/docs/run.sh [FILE.md]
#   (make check-docs; without RUNNER it builds tests/docs/runner.c with $CC
#   against $RUNTIME, default build/libtexrt.a)
#
# The convention (a fenced block's info string says what it is):
#   ```tex              a program: must compile
#   ```tex run [N=4 ..] a program: must compile, and every exported function
#                       is called (tests/docs/runner.c: size symbols 3 unless
#                       given, floats in [0.25, 1], integers 0 or 1) and must
#                       return 0 with finite float outputs
#   ```tex cont         appended to the previous tex block (a fragment that
#                       uses its functions), then as ```tex (`cont run` runs)
#   ```tex error        must be rejected with a diagnostic (exit status 1, no
#                       crash); each `# error: TEXT` line in it must appear
#                       in texc's output
#   ```text ```c ```sh  not compiled (output, C, shell, formulas)
# A fence with no info string is an error: every block says what it is.
set -u
TEXC=${TEXC:-build/texc}
RUNTIME=${RUNTIME:-build/libtexrt.a}
CC=${CC:-cc}
DOC=${1:-lang/reference.md}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/texc-docs.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT INT TERM

if [ -n "${RUNNER:-}" ]; then
  cp "$RUNNER" "$TMP/runner" || exit 1
else
  $CC -std=c11 -O1 -D_GNU_SOURCE -Iruntime -o "$TMP/runner" tests/docs/runner.c "$RUNTIME" -ldl -lm -lpthread || exit 1
fi

# Split the document: one file per block, with its info string and line.
awk -v dir="$TMP" '
  function flush() { close(out) }
  /^[ \t]*```/ {
    line = $0; sub(/^[ \t]*/, "", line)
    if (!inb) {
      inb = 1; n++; ind = index($0, "```") - 1
      info = substr(line, 4); sub(/[ \t]+$/, "", info)
      out = sprintf("%s/b%03d.tex", dir, n)
      printf "%s\t%d\t%s\n", out, NR, info > (dir "/index")
      printf "" > out
      next
    }
    inb = 0; flush(); next
  }
  inb { s = $0; if (ind > 0 && substr(s, 1, ind) ~ /^[ \t]*$/) s = substr(s, ind + 1); print s > out }
  END { if (inb) { printf "%s\t%d\tUNCLOSED\n", out, NR > (dir "/index") } }
' "$DOC"

fails=0 nblocks=0 ncompiled=0 nran=0 nerr=0 prev=""
fail() { echo "FAIL: $DOC:$line: $*"; fails=$((fails + 1)); }
while IFS="$(printf '\t')" read -r file line info; do
  nblocks=$((nblocks + 1))
  set -- $info
  kind=${1:-}
  [ $# -gt 0 ] && shift
  case "$kind" in
  text | c | sh) continue ;;
  "") fail "a code block without an info string (tex, tex run, tex cont, tex error, text, c or sh)"; continue ;;
  UNCLOSED) fail "an unclosed code block"; continue ;;
  tex) ;;
  *) fail "unknown info string '$info'"; continue ;;
  esac
  mode=compile
  if [ "${1:-}" = cont ]; then
    if [ -z "$prev" ]; then fail "'tex cont' with no tex block before it"; continue; fi
    cat "$prev" "$file" > "$file.cat" && mv "$file.cat" "$file"
    shift
  fi
  case "${1:-}" in
  run) mode=run; shift ;;
  error) mode=error; shift ;;
  "") ;;
  *) fail "unknown info string '$info'"; continue ;;
  esac
  src="$TMP/ex$line.tex"
  cp "$file" "$src"
  if [ $mode = error ]; then
    nerr=$((nerr + 1))
    "$TEXC" "$src" -o "$TMP/err.so" > "$TMP/out" 2>&1
    rc=$?
    if [ $rc -ne 1 ]; then fail "an error example: texc exited with $rc, want 1"; sed 's/^/    /' "$TMP/out"; continue; fi
    # the diagnostics' own lines, not the source lines they quote
    grep -E '^[^ ].*: (error|note): ' "$TMP/out" > "$TMP/diags"
    grep '# error:' "$src" | sed 's/.*# error: *//' | while IFS= read -r want; do
      grep -F -- "$want" "$TMP/diags" > /dev/null || echo "$want"
    done > "$TMP/missing"
    if [ -s "$TMP/missing" ]; then
      fail "the diagnostics lack: $(cat "$TMP/missing")"
      sed 's/^/    /' "$TMP/out"
    fi
    continue
  fi
  ncompiled=$((ncompiled + 1))
  prev="$file"
  if ! "$TEXC" "$src" -o "$TMP/libex$line.so" --prefix=ex$line > "$TMP/out" 2>&1; then
    fail "this example does not compile:"
    sed 's/^/    /' "$TMP/out"
    continue
  fi
  if [ $mode = run ]; then
    nran=$((nran + 1))
    if ! "$TMP/runner" "$TMP/libex$line.so" "ex$line" "$@" > "$TMP/out" 2>&1; then
      fail "this example does not run:"
      sed 's/^/    /' "$TMP/out"
    fi
  fi
done < "$TMP/index"

echo "docs: $DOC: $nblocks blocks, $ncompiled compiled, $nran run, $nerr error examples, $fails failures"
[ $fails -eq 0 ]
