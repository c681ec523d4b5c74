#!/bin/sh
# bench/run.sh BUILD — what `make bench` runs.  Everything in one run, side by
# side, reported as ratios (the machine is shared and noisy).
set -eu
B=${1:-build}
OUT=$B/bench
mkdir -p "$OUT"
cc -std=c11 -O2 -Iruntime bench/bench.c -o "$OUT/bench" -ldl
"$B/texc" bench/mlp.tex --grad loss --wrt W1,b1,W2,b2,W3,b3 --prefix=mlp -o "$OUT/libmlp.so"
"$B/texc" bench/mlp.tex --grad lse --prefix=lse -o "$OUT/liblse.so"
run() { "$OUT/bench" "$@"; }
MLP=N=256,D=784,H=512,K=10
LSE=N=4096,K=1024

fwd=$(run "$OUT/libmlp.so" mlp loss $MLP)
grad=$(run "$OUT/libmlp.so" mlp loss_grad $MLP)
step=$(run "$OUT/libmlp.so" mlp train_step $MLP)
lse_f=$(run "$OUT/liblse.so" lse lse $LSE)
lse_g=$(run "$OUT/liblse.so" lse lse_grad $LSE)
torch=$(OMP_NUM_THREADS=1 /usr/bin/python3 bench/peer_torch.py 1)

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
