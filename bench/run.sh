#!/bin/sh
# bench/run.sh BUILD — what `make bench` runs.  Everything in one run, side by
# side, reported as ratios (the machine is shared and noisy).
set -eu
B=${1:-build}
OUT=$B/bench
mkdir -p "$OUT"
# everything printed also goes to $OUT/results.txt (the indexing cases also
# to $OUT/index.tsv); a failed output check fails the run
if [ -z "${BENCH_TEE:-}" ]; then
  rm -f "$OUT/.rc"
  BENCH_TEE=1 sh "$0" "$@" | tee "$OUT/results.txt"
  exit "$(cat "$OUT/.rc")"
fi
trap 'echo $? > "$OUT/.rc"' EXIT
cc -std=c11 -O2 -Iruntime bench/bench.c -o "$OUT/bench" -ldl
cc -std=c11 -O2 -march=native bench/stream.c -o "$OUT/stream"
cc -std=c11 -O2 -march=native -ffp-contract=off -shared -fPIC bench/pdist_floor.c -o "$OUT/libpdist_floor.so"
"$B/texc" bench/mlp.tex --grad loss --wrt W1,b1,W2,b2,W3,b3 --prefix=mlp -o "$OUT/libmlp.so"
"$B/texc" bench/mlp.tex --grad lse --prefix=lse -o "$OUT/liblse.so"
"$B/texc" bench/fused.tex --prefix=fused -o "$OUT/libfused.so"
# the indexing cases: the same source twice, the second without its
# run-time subscript checks (TEXC_UNCHECKED_GATHERS: for measuring only)
"$B/texc" bench/index.tex --grad conv_loss,conv3_loss --wrt x,w --prefix=index -o "$OUT/libindex.so"
TEXC_UNCHECKED_GATHERS=1 "$B/texc" bench/index.tex --prefix=index -o "$OUT/libindex_nc.so"
# the LSTM case of issue 10: loss and loss_ck (checkpoint=7), with gradients;
# --stats gives each function's static peak as a size expression
LSTM_DIMS=B=64,D=64,H=256,T=50,V=96
"$B/texc" bench/lstm.tex --grad loss,loss_ck --wrt E,Wx,Wh,b,Wy,by --prefix=lstm -o "$OUT/liblstm.so" \
  --stats --dims $LSTM_DIMS 2>&1 | grep '^peak temporary bytes' > "$OUT/lstm_stats.txt"
run() { "$OUT/bench" "$@"; }
MLP=N=256,D=784,H=512,K=10
LSE=N=4096,K=1024

fwd=$(run "$OUT/libmlp.so" mlp loss $MLP)
grad=$(run "$OUT/libmlp.so" mlp loss_grad $MLP)
step=$(run "$OUT/libmlp.so" mlp train_step $MLP)
lse_f=$(run "$OUT/liblse.so" lse lse $LSE)
lse_g=$(run "$OUT/liblse.so" lse lse_grad $LSE)
torch=$(OMP_NUM_THREADS=1 /usr/bin/python3 bench/peer_torch.py 1)
VEC=N=16777216
ROWS=N=4096,K=1024
chain=$(run "$OUT/libfused.so" fused chain $VEC)
smax=$(run "$OUT/libfused.so" fused softmax_rows $ROWS)
lsex=$(run "$OUT/libfused.so" fused logsumexp_rows $ROWS)
ssq=$(run "$OUT/libfused.so" fused sum_squares $VEC)
gbs=$("$OUT/stream")
set -- $(OMP_NUM_THREADS=1 /usr/bin/python3 bench/peer_numpy.py)
np_chain=$1 np_smax=$2 np_lse=$3 np_ssq=$4

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "== gradient cost (1 thread; target: grad <= 3x forward)"
printf "%-34s %10s %10s %8s\n" workload "forward ms" "grad ms" ratio
printf "%-34s %10s %10s %8s\n" "MLP 256x784-512-512-10 loss" "$fwd" "$grad" "$(ratio "$grad" "$fwd")"
printf "%-34s %10s %10s %8s\n" "row logsumexp 4096x1024" "$lse_f" "$lse_g" "$(ratio "$lse_g" "$lse_f")"
echo
echo "== MLP training step (forward, backward, SGD update), 1 thread"
printf "%-34s %10s\n" "texc train_step (in place)" "$step"
printf "%-34s %10s\n" "PyTorch $( /usr/bin/python3 -c 'import torch; print(torch.__version__)') (CPU)" "$torch"
printf "%-34s %10s\n" "texc / PyTorch" "$(ratio "$step" "$torch")"
echo
# floors: bytes that must cross memory at the measured copy bandwidth
floor() { awk -v bytes="$1" -v gbs="$gbs" 'BEGIN { printf "%.3f", bytes / (gbs * 1e6) }'; }
f_chain=$(floor $((2 * 4 * 16777216)))
f_rows=$(floor $((2 * 4 * 4096 * 1024)))
f_lse=$(floor $((4 * 4096 * 1024)))
f_ssq=$(floor $((4 * 16777216)))
echo "== fused expressions, 1 thread (copy bandwidth $gbs GB/s measured now; targets for the chain: >= 3x NumPy, <= 1.3x floor)"
printf "%-30s %9s %9s %9s %11s %11s\n" case "texc ms" "numpy ms" "floor ms" "numpy/texc" "texc/floor"
row() { printf "%-30s %9s %9s %9s %11s %11s\n" "$1" "$2" "$3" "$4" "$(ratio "$3" "$2")" "$(ratio "$2" "$4")"; }
row "exp(-x*x/2)*a + b*sqrt(|x|) 2^24" "$chain" "$np_chain" "$f_chain"
row "row softmax 4096x1024" "$smax" "$np_smax" "$f_rows"
row "row logsumexp 4096x1024" "$lsex" "$np_lse" "$f_lse"
row "sum of squares 2^24" "$ssq" "$np_ssq" "$f_ssq"
echo
# the indexing cases of issue 9: a table per case, run in one process so
# every peer is checked against texc's output first (bench/peer_index.py)
/usr/bin/python3 bench/peer_index.py "$OUT"

# the LSTM case of issue 10: timings and checks (bench/peer_lstm.py), then
# peak memory: the static peak of --stats, and the growth of the peak RSS
# over one call, each in a fresh process
/usr/bin/python3 bench/peer_lstm.py "$OUT"
echo
echo "== LSTM gradient peak memory ($LSTM_DIMS; static: texc --stats --dims, measured: peak-RSS growth over one call)"
static() { grep "($1;" "$OUT/lstm_stats.txt" | sed 's/^peak temporary bytes: \(.*\) = \([0-9]*\)  (.*/\2/'; }
expr_of() { grep "($1;" "$OUT/lstm_stats.txt" | sed 's/^peak temporary bytes: \(.*\) = [0-9]*  (.*/\1/'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1048576 }'; }
printf "%-34s %12s %14s %10s\n" "" "static MiB" "workspace MiB" "RSS MiB"
for who in texc texc_ck torch; do
  set -- $(OMP_NUM_THREADS=1 /usr/bin/python3 bench/peer_lstm.py "$OUT" --peak $who)
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
