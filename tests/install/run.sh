#!/bin/sh
# run.sh — `make check-install`: installs into a temporary prefix, then,
# from another folder, compiles a model that imports nn with the installed
# compiler (which must find the installed stdlib and runtime, not the
# source tree's), builds a C driver against the installed texrt.h and runs
# it.  Last, it removes the installed nn.tex and checks that the compiler
# now reports the module as unknown, naming the installed stdlib folder:
# so the model above really used the installed one.
#
# Environment: MAKE, BUILD (the build folder to install from), CC.
set -eu
MAKE=${MAKE:-make}
BUILD=${BUILD:-build}
CC=${CC:-cc}
src=$(pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT INT TERM
unset TEXC_STDLIB TEXC_RUNTIME
$MAKE -s install BUILD="$BUILD" PREFIX="$t/prefix" >/dev/null
for f in bin/texc lib/texc/libtexrt.a include/texrt.h share/texc/stdlib/nn.tex share/texc/stdlib/math.tex \
  share/texc/stdlib/linalg.tex share/doc/texc/reference.md share/doc/texc/math.md share/doc/texc/README.md; do
  [ -f "$t/prefix/$f" ] || { echo "FAIL install: $f is missing"; exit 1; }
done
mkdir "$t/work"
cp tests/install/model.tex tests/install/main.c "$t/work/"
cd "$t/work"
"$t/prefix/bin/texc" model.tex -o libmodel.so
$CC -std=c11 -I"$t/prefix/include" -I. -o main main.c -L. -lmodel -Wl,-rpath,"$t/work" -lm
./main
rm "$t/prefix/share/texc/stdlib/nn.tex"
if "$t/prefix/bin/texc" model.tex -o libmodel2.so 2>err.txt; then
  echo "FAIL install: model.tex compiled without the installed nn.tex"
  exit 1
fi
grep -q "unknown module 'nn'.*$t/prefix/bin/../share/texc/stdlib\|unknown module 'nn'.*$t/prefix/share/texc/stdlib" err.txt || {
  echo "FAIL install: unexpected message:"
  cat err.txt
  exit 1
}
cd "$src"
echo "== install: ok"
