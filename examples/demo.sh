#!/bin/sh
# demo.sh BUILD — what `make demo` runs: fetch the digits data (offline, from
# Debian's python3-sklearn package), compile examples/logreg.tex, show the
# generated header, and run examples/demo.c against the .so; then compile
# examples/convnet.tex and train it with examples/demo_cnn.c; then compile
# examples/charlstm.tex (a character-level LSTM, with --grad) and train it
# with examples/charlstm.c on /usr/share/common-licenses/GPL-3 (Debian's
# base-files package, essential: on every Debian system).
set -eu
B=${1:-build}
OUT=$B/demo
mkdir -p "$OUT"
DATA=$OUT/digits.csv
if [ ! -s "$DATA" ]; then
  echo "== fetching the digits data from Debian's python3-sklearn package"
  tmp=$(mktemp -d)
  (cd "$tmp" && { apt-get download python3-sklearn >/dev/null 2>&1 || { apt-get update -qq && apt-get download python3-sklearn >/dev/null 2>&1; }; } &&
    dpkg -x python3-sklearn_*.deb x)
  zcat "$tmp"/x/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz > "$DATA"
  rm -rf "$tmp"
fi
echo "== texc examples/logreg.tex -o $OUT/liblogreg.so --stats"
"$B/texc" examples/logreg.tex -o "$OUT/liblogreg.so" --stats
echo "== $OUT/logreg.h"
cat "$OUT/logreg.h"
echo "== the C driver"
cc -std=c11 -O2 -Iruntime -I"$OUT" examples/demo.c -o "$OUT/demo" -L"$OUT" -llogreg -Wl,-rpath,'$ORIGIN' -lm
"$OUT/demo" "$DATA"

echo
echo "== texc examples/convnet.tex -o $OUT/libconvnet.so (a convolutional network, import nn, integer labels)"
"$B/texc" examples/convnet.tex -o "$OUT/libconvnet.so"
cc -std=c11 -O2 -Iruntime -I"$OUT" examples/demo_cnn.c -o "$OUT/demo_cnn" -L"$OUT" -lconvnet -Wl,-rpath,'$ORIGIN' -lm
"$OUT/demo_cnn" "$DATA"

echo
echo "== texc examples/charlstm.tex --grad loss -o $OUT/libcharlstm.so (a character-level LSTM: loop, embedding gather, cross-entropy per step)"
"$B/texc" examples/charlstm.tex --grad loss --wrt E,Wx,Wh,b,Wy,by -o "$OUT/libcharlstm.so"
cc -std=c11 -O2 -Iruntime -I"$OUT" examples/charlstm.c -o "$OUT/charlstm" -L"$OUT" -lcharlstm -Wl,-rpath,'$ORIGIN' -lm
"$OUT/charlstm" /usr/share/common-licenses/GPL-3
