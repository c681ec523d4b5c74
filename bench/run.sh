#!/bin/sh
# bench/run.sh BUILD — what `make bench` runs: builds the texc libraries of
# the cases and the limit probes, then bench/driver.py (the ratio table:
# texc beside NumPy, PyTorch 1.13 and 2.x, torch.compile, JAX and OpenBLAS,
# at 1 and 2 threads, aligned and offset buffers), then (not with
# BENCH_QUICK=1) the indexing cases of issue 9 and the LSTM's peak memory.
# Everything printed also goes to BUILD/bench/results.txt; a failed output
# check fails the run.
set -eu
B=${1:-build}
OUT=$B/bench
mkdir -p "$OUT"
if [ -z "${BENCH_TEE:-}" ]; then
  rm -f "$OUT/.rc"
  BENCH_TEE=1 sh "$0" "$@" 2>&1 | tee "$OUT/results.txt"
  exit "$(cat "$OUT/.rc")"
fi
trap 'echo $? > "$OUT/.rc"' EXIT
cc -std=c11 -O2 -march=native bench/stream.c -o "$OUT/stream" -lpthread
cc -std=c11 -O2 -march=native bench/peak.c -o "$OUT/peak" -lpthread
cc -std=c11 -O2 -march=native -ffp-contract=off -shared -fPIC bench/pdist_floor.c -o "$OUT/libpdist_floor.so"
MLP_WRT=W1,b1,W2,b2,W3,b3
"$B/texc" bench/mlp.tex --grad loss --wrt $MLP_WRT --prefix=mlp -o "$OUT/libmlp.so"
"$B/texc" bench/mlp.tex --grad lse --prefix=lse -o "$OUT/liblse.so"
"$B/texc" bench/fused.tex --prefix=fused -o "$OUT/libfused.so"
"$B/texc" bench/gemm.tex --prefix=gemm -o "$OUT/libgemm.so"
"$B/texc" bench/reduce.tex --prefix=reduce -o "$OUT/libreduce.so"
"$B/texc" bench/tiny.tex --prefix=tiny -o "$OUT/libtiny.so"
cc -std=c11 -O2 -Iruntime bench/call_c.c -o "$OUT/call_c" -ldl
# the indexing cases: the same source twice, the second without its
# run-time subscript checks (TEXC_UNCHECKED_GATHERS: for measuring only)
"$B/texc" bench/index.tex --grad conv_loss,conv3_loss --wrt x,w --prefix=index -o "$OUT/libindex.so"
TEXC_UNCHECKED_GATHERS=1 "$B/texc" bench/index.tex --prefix=index -o "$OUT/libindex_nc.so"
# the LSTM case of issue 10: loss and loss_ck (checkpoint=7), with gradients;
# --stats gives each function's static peak as a size expression
LSTM_DIMS=B=64,D=64,H=256,T=50,V=96
"$B/texc" bench/lstm.tex --grad loss,loss_ck --wrt E,Wx,Wh,b,Wy,by --prefix=lstm -o "$OUT/liblstm.so" \
  --stats --dims $LSTM_DIMS 2>&1 | grep '^peak temporary bytes' > "$OUT/lstm_stats.txt"

rc=0
/usr/bin/python3 bench/driver.py "$B" "$OUT" || rc=$?
if [ -n "${BENCH_QUICK:-}" ] && [ "$BENCH_QUICK" != 0 ] || [ -n "${BENCH_CASES:-}" ]; then exit $rc; fi

# the Python package's overhead per call (issue 12)
echo
/usr/bin/python3 bench/call_python.py "$OUT" || rc=$?

# the indexing cases of issue 9: a table per case, run in one process so
# every peer is checked against texc's output first (bench/peer_index.py)
echo
/usr/bin/python3 bench/peer_index.py "$OUT" || rc=$?

# the LSTM of issue 10: peak memory, the static peak of --stats and the
# growth of the peak RSS over one call, each in a fresh process
echo
echo "== LSTM gradient peak memory ($LSTM_DIMS; static: texc --stats --dims, measured: peak-RSS growth over one call)"
static() { grep "($1;" "$OUT/lstm_stats.txt" | sed 's/^peak temporary bytes: \(.*\) = \([0-9]*\)  (.*/\2/'; }
expr_of() { grep "($1;" "$OUT/lstm_stats.txt" | sed 's/^peak temporary bytes: \(.*\) = [0-9]*  (.*/\1/'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1048576 }'; }
printf "%-34s %12s %14s %10s\n" "" "static MiB" "workspace MiB" "RSS MiB"
for who in texc texc_ck torch; do
  set -- $(OMP_NUM_THREADS=1 TEX_NUM_THREADS=1 /usr/bin/python3 bench/peer_lstm.py "$OUT" $who)
  case $who in
  texc) name="texc loss_grad" st=$(static loss_grad) ;;
  texc_ck) name="texc loss_grad, checkpoint=7" st=$(static loss_ck_grad) ;;
  torch) name="torch loss + backward()" st= ;;
  esac
  if [ -n "$st" ]; then printf "%-34s %12s %14s %10s\n" "$name" "$(mib "$st")" "$(mib "$2")" "$(mib "$1")"
  else printf "%-34s %12s %14s %10s\n" "$name" "-" "-" "$(mib "$1")"; fi
done
echo "static peak of loss_grad:    $(expr_of loss_grad)"
echo "static peak of loss_ck_grad: $(expr_of loss_ck_grad)"
exit $rc
