#!/bin/sh
# run.sh — `make check-install`: installs into a temporary prefix, then,
# from another folder, compiles a model that imports nn with the installed
# compiler (which must find the installed stdlib and runtime, not the
# source tree's), builds a C driver against the installed texrt.h and runs
# it.  Last, it removes the installed nn.tex and checks that the compiler
# now reports the module as unknown, naming the installed stdlib folder:
# so the model above really used the installed one.  It also checks the
# man page (man --warnings), texrt.pc (pkg-config gives the include path
# main.c is compiled with), the bash completion, and the Python package,
# which must find the installed texc by itself.
#
# Environment: MAKE, BUILD (the build folder to install from), CC, SAN
# (set under SAN=1: the runtime is sanitized).
set -eu
MAKE=${MAKE:-make}
BUILD=${BUILD:-build}
CC=${CC:-cc}
src=$(pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT INT TERM
unset TEXC_STDLIB TEXC_RUNTIME
site="$t/prefix/lib/python3/site-packages"
$MAKE -s install BUILD="$BUILD" PREFIX="$t/prefix" PYTHON_SITE="$site" >/dev/null
[ -f "$site/texc/__init__.py" ] || { echo "FAIL install: the Python package is missing"; exit 1; }
if man --warnings -E UTF-8 -l "$t/prefix/share/man/man1/texc.1" 2>&1 >/dev/null | grep .; then
  echo "FAIL install: man --warnings complains about texc.1"
  exit 1
fi
words=$(bash -c ". '$t/prefix/share/bash-completion/completions/texc'; COMP_WORDS=(texc --em); COMP_CWORD=1; _texc; echo \${COMPREPLY[*]}")
[ "$words" = "--emit=" ] || { echo "FAIL install: completing 'texc --em' gave '$words'"; exit 1; }
cflags=$(PKG_CONFIG_PATH="$t/prefix/lib/pkgconfig" pkg-config --cflags texrt | sed "s/ *$//")
[ "$cflags" = "-I$t/prefix/include" ] || { echo "FAIL install: pkg-config --cflags texrt gave '$cflags'"; exit 1; }
for f in bin/texc lib/texc/libtexrt.a include/texrt.h share/texc/stdlib/nn.tex share/texc/stdlib/math.tex \
  share/texc/stdlib/linalg.tex share/doc/texc/reference.md share/doc/texc/math.md share/doc/texc/README.md \
  share/man/man1/texc.1 lib/pkgconfig/texrt.pc share/bash-completion/completions/texc; do
  [ -f "$t/prefix/$f" ] || { echo "FAIL install: $f is missing"; exit 1; }
done
mkdir "$t/work"
cp tests/install/model.tex tests/install/main.c "$t/work/"
cd "$t/work"
"$t/prefix/bin/texc" model.tex -o libmodel.so
$CC -std=c11 $cflags -I. -o main main.c -L. -lmodel -Wl,-rpath,"$t/work" -lm
./main
# the installed package finds the installed texc (no $TEXC, not on PATH);
# not under SAN=1: a .so on the sanitized runtime needs an instrumented
# process, and Python is not one
if [ -z "${SAN:-}" ]; then
  env -u TEXC PATH=/usr/bin:/bin PYTHONPATH="$site" TEXC_CACHE_DIR="$t/cache" /usr/bin/python3 -c "
import numpy as np, texc
assert texc.find_texc() == '$t/prefix/bin/texc', texc.find_texc()
m = texc.compile('model.tex')
p = m.predict(np.zeros((3, 2), np.float32), np.zeros(2, np.float32), np.ones((4, 3), np.float32))
assert p.shape == (4, 2) and abs(p.sum() - 4) < 1e-6, p
"
else
  echo "install: the Python package check is skipped under SAN=1 (Python is not instrumented)"
fi
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
