#!/bin/sh
# run.sh — hostile inputs at the command line: each must end in a clear
# error (or a correct success) with the expected exit status, in bounded
# time and memory, and never with a signal.
#
#   TEXC=build/texc sh tests/hostile/run.sh          (what `make check-hostile` runs)
#   MEASURE=1 TEXC=build/texc sh tests/hostile/run.sh  (also prints wall time and
#                                     peak RSS per case, as in README.md's table)
#
# Each case: NAME, the exit status it must give, a fixed string its stderr
# must contain, and the command.  The inputs are generated into a temporary
# directory ($t).  Every case runs under `timeout` ($HOSTILE_TIMEOUT seconds)
# and, unless HOSTILE_VMEM_KB is empty (sanitizer builds reserve terabytes of
# address space), under `ulimit -v`.  stderr must also stay under 64 KB.
#
# Exit statuses (ir/ir.h, TexcExit): 0 ok, 1 errors in the program,
# 2 usage or unreadable input, 3 an output cannot be written, 4 out of memory.
set -u

TEXC=${TEXC:-build/texc}
MEASURE=${MEASURE:-0}
HOSTILE_TIMEOUT=${HOSTILE_TIMEOUT:-60}
HOSTILE_VMEM_KB=${HOSTILE_VMEM_KB-4194304}
pass=0
fail=0
xfail=0
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT INT TERM

# ---- inputs ---------------------------------------------------------------
fn_open='fn f(x: f32) -> f32 {'
gen() { # gen FILE AWK-PROGRAM: the file is what the program prints
  awk "BEGIN { $2 }" >"$t/$1"
}
gen nest_parens.tex "print \"$fn_open\"; printf \"  return \"; for (i = 0; i < 10000; i++) printf \"(\"; printf \"x\"; for (i = 0; i < 10000; i++) printf \")\"; print \"\"; print \"}\""
gen nest_unary.tex "print \"$fn_open\"; printf \"  return \"; for (i = 0; i < 10000; i++) printf \"-\"; print \"x\"; print \"}\""
gen nest_pow.tex "print \"$fn_open\"; printf \"  return x\"; for (i = 0; i < 10000; i++) printf \" ** x\"; print \"\"; print \"}\""
gen nest_ok.tex "print \"$fn_open\"; printf \"  return \"; for (i = 0; i < 125; i++) printf \"exp(-(\"; printf \"x\"; for (i = 0; i < 125; i++) printf \"))\"; print \"\"; print \"}\""
gen terms_100k.tex "print \"$fn_open\"; printf \"  return x\"; for (i = 1; i < 100000; i++) printf \" + x\"; print \"\"; print \"}\""
gen lines_50k.tex "print \"$fn_open\"; for (i = 0; i < 50000; i++) printf \"  let a%d = x\\n\", i; print \"  return a49999\"; print \"}\""
gen fns_16k.tex "for (i = 0; i < 16700; i++) printf \"fn g%d(x: f32[N]) -> f32[N] {\\n  return x + 1.0\\n}\\n\", i"
gen call_fanout.tex "print \"private fn g0(x: f32[N]) -> f32[N] {\"; print \"  return x + 1.0\"; print \"}\"; for (i = 1; i < 40; i++) printf \"private fn g%d(x: f32[N]) -> f32[N] {\\n  return g%d(x) + g%d(x)\\n}\\n\", i, i - 1, i - 1; print \"fn main(x: f32[N]) -> f32[N] {\"; print \"  return g39(x)\"; print \"}\""
gen call_chain.tex "print \"fn g0(x: f32[N]) -> f32[N] {\"; print \"  return x + 1.0\"; print \"}\"; for (i = 1; i < 20000; i++) printf \"fn g%d(x: f32[N]) -> f32[N] {\\n  return g%d(x) * 0.5\\n}\\n\", i, i - 1"
gen ident_1mb.tex "print \"$fn_open\"; printf \"  return \"; for (i = 0; i < 1048576; i++) printf \"a\"; print \"\"; print \"}\""
gen float_huge.tex "print \"fn f(x: f64) -> f64 {\"; print \"  return x + 1e999999\"; print \"}\""
gen float_long.tex "print \"fn f(x: f64) -> f64 {\"; printf \"  return x + 1\"; for (i = 0; i < 400; i++) printf \"0\"; print \".5\"; print \"}\""
gen int_400.tex "print \"fn f(x: i64) -> i64 {\"; printf \"  return x + \"; for (i = 0; i < 400; i++) printf \"9\"; print \"\"; print \"}\""
gen dim_literal.tex "print \"fn f(x: f32[99999999999999999999]) -> f32 {\"; print \"  return sum(x)\"; print \"}\""
gen dim_product.tex "print \"fn f(x: f32[9223372036854775807, 2]) -> f32[9223372036854775807, 2] {\"; print \"  return x + 1.0\"; print \"}\""
printf 'fn f(x: f32) -> f32 {\n  return x\000\n}\n' >"$t/nul.tex"
printf 'fn f(x: f32) -> f32 {\n  return x \377\376\n}\n' >"$t/bad_utf8.tex"
gen noise_1mb.tex "print \"$fn_open\"; printf \"  return x \"; for (i = 0; i < 524288; i++) printf \"%c \", 255; print \"\"; print \"}\""
: >"$t/empty.tex"
printf '# only a comment\n\n' >"$t/comments.tex"
mkdir "$t/dir.tex"
printf 'fn f(x: f32[N]) -> f32 {\n  return sum(x * x)\n}\n' >"$t/ok.tex"
gen params_70.tex "printf \"fn f(\"; for (i = 1; i <= 70; i++) printf \"p%d: f32, \", i; print \") -> f32 {\"; print \"  return p1 * p66\"; print \"}\""

# ---- running one case -----------------------------------------------------
# run NAME WANT_STATUS WANT_STDERR TEXC-ARGS...   (KNOWN=bug: an expected failure)
run() {
  name=$1 want=$2 msg=$3
  shift 3
  rc=0
  (
    [ -n "$HOSTILE_VMEM_KB" ] && ulimit -v "$HOSTILE_VMEM_KB"
    if [ "$MEASURE" = 1 ]; then
      exec /usr/bin/time -f '%e %M' -o "$t/time" timeout "$HOSTILE_TIMEOUT" "$TEXC" "$@"
    fi
    exec timeout "$HOSTILE_TIMEOUT" "$TEXC" "$@"
  ) >"$t/out" 2>"$t/err" || rc=$?
  why=""
  if [ "$rc" = 124 ]; then why="timed out after ${HOSTILE_TIMEOUT}s"
  elif [ "$rc" -gt 128 ]; then why="killed by signal $((rc - 128))"
  elif grep -qE 'Sanitizer|runtime error:' "$t/err"; then why="a sanitizer report"
  elif [ "$rc" != "$want" ]; then why="exit status $rc, expected $want"
  elif [ -n "$msg" ] && ! grep -qF -- "$msg" "$t/err"; then why="stderr lacks '$msg'"
  elif [ "$(wc -c <"$t/err")" -gt 65536 ]; then why="stderr has $(wc -c <"$t/err") bytes"
  fi
  if [ "$MEASURE" = 1 ] && [ -s "$t/time" ]; then
    set -- $(tail -n 1 "$t/time")
    printf '| %-14s | %4s | %7s s | %8s KB |\n' "$name" "$rc" "$1" "$2"
  fi
  if [ -z "$why" ]; then
    [ -n "${KNOWN:-}" ] && echo "XPASS $name (known bug $KNOWN no longer shows: drop KNOWN)"
    pass=$((pass + 1))
    [ "$MEASURE" = 1 ] || echo "ok $name"
  elif [ -n "${KNOWN:-}" ]; then
    xfail=$((xfail + 1))
    echo "xfail $name: $why (known bug $KNOWN)"
  else
    fail=$((fail + 1))
    echo "FAIL $name: $why"
    head -c 2000 "$t/err" | sed 's/^/    /'
  fi
}

# ---- the cases ------------------------------------------------------------
run nest_parens 1 "nest more than 256 deep" "$t/nest_parens.tex" --emit=ir -o /dev/null
run nest_unary 1 "the parser's limit is 2048" "$t/nest_unary.tex" --emit=ir -o /dev/null
run nest_pow 1 "the parser's limit is 2048" "$t/nest_pow.tex" --emit=ir -o /dev/null
run nest_ok 0 "" "$t/nest_ok.tex" --emit=ir -o /dev/null
# sema walks a left-leaning chain as a loop; fusion splits it every 128 ops.
run terms_100k 0 "" "$t/terms_100k.tex" --emit=ir -o /dev/null
run lines_50k 0 "" "$t/lines_50k.tex" -o "$t/lines.so"
run fns_16k 0 "" "$t/fns_16k.tex" --emit=ir -o /dev/null
# Calls are inlined: 2^40 operations from 120 lines, and a 20,000-deep call
# chain that the inline pass would build 2 * 10^8 nodes for (24 GB, once).
run call_fanout 1 "calls are inlined, and once they are, main() has about" "$t/call_fanout.tex" --emit=ir -o /dev/null
run call_chain 1 "the limit is 1048576" "$t/call_chain.tex" --emit=ir -o /dev/null
run ident_1mb 1 "the limit is 1024" "$t/ident_1mb.tex" --emit=ir -o /dev/null
run float_huge 1 "float literal 1e999999 is too large" "$t/float_huge.tex" --emit=ir -o /dev/null
run float_long 1 "is too large (the f64 limit" "$t/float_long.tex" --emit=ir -o /dev/null
run int_400 1 "is too large (the limit is 2^63-1)" "$t/int_400.tex" --emit=ir -o /dev/null
run dim_literal 1 "integer literal 99999999999999999999 is too large" "$t/dim_literal.tex" --emit=ir -o /dev/null
# Literal dims whose byte count overflows 64 bits: no call could pass such
# a tensor, so sema says so.
run dim_product 1 "more than 2^63 bytes" "$t/dim_product.tex" --emit=ir -o /dev/null
run nul_byte 1 "the file contains a NUL byte" "$t/nul.tex" --emit=ir -o /dev/null
run bad_utf8 1 "invalid UTF-8 (byte 0xff)" "$t/bad_utf8.tex" --emit=ir -o /dev/null
run noise_1mb 1 "only the first 100 errors are shown" "$t/noise_1mb.tex" --emit=ir -o /dev/null
run empty_file 1 "no functions in $t/empty.tex" "$t/empty.tex" -o "$t/empty.so"
run comments_only 1 "no functions in" "$t/comments.tex" -o "$t/comments.so"
run dev_null 1 "no functions in /dev/null" /dev/null -o "$t/null.so"
run directory 2 "cannot read $t/dir.tex: Is a directory" "$t/dir.tex" -o "$t/dir.so"
run missing_file 2 "No such file or directory" "$t/missing.tex" -o "$t/missing.so"
run out_dev_full_ir 3 "cannot write /dev/full: No space left on device" "$t/ok.tex" --emit=ir -o /dev/full
run out_dev_full_so 3 "linking /dev/full failed" "$t/ok.tex" -o /dev/full
run out_dev_full_hdr 3 "cannot write /dev/full" "$t/ok.tex" --emit=header -o /dev/full
run out_no_dir_ir 3 "cannot write $t/no/such/dir/x.ir" "$t/ok.tex" --emit=ir -o "$t/no/such/dir/x.ir"
run out_no_dir_so 3 "linking $t/no/such/dir/x.so failed" "$t/ok.tex" -o "$t/no/such/dir/x.so"
run out_is_dir 3 "cannot write $t/dir.tex: Is a directory" "$t/ok.tex" --emit=llvm -o "$t/dir.tex"
run depfile_no_dir 3 "cannot write $t/no/such/dir/x.d: No such file or directory" "$t/ok.tex" --emit=ir -o /dev/null --depfile "$t/no/such/dir/x.d"
run depfile_dev_full 3 "cannot write /dev/full" "$t/ok.tex" --emit=ir -o /dev/null --depfile /dev/full
run depfile_no_arg 2 "--depfile needs a file" "$t/ok.tex" --emit=ir --depfile
# wrt is a set of up to IR_MAX_PARAMS parameters (once a 64-bit mask: 1 << 64)
run wrt_past_64 0 "" "$t/params_70.tex" --grad f --wrt p66 --emit=ir -o /dev/null
run grad_past_64 0 "" "$t/params_70.tex" --grad f --emit=ir -o /dev/null

# stdout on a full device: the redirection is the output
rc=0
timeout "$HOSTILE_TIMEOUT" "$TEXC" "$t/ok.tex" --emit=ir >/dev/full 2>"$t/err" || rc=$?
if [ "$rc" = 3 ] && grep -qF "cannot write <stdout>: No space left on device" "$t/err"; then
  pass=$((pass + 1))
  [ "$MEASURE" = 1 ] || echo "ok stdout_full"
else
  fail=$((fail + 1))
  echo "FAIL stdout_full: exit status $rc"
  sed 's/^/    /' "$t/err"
fi

echo "== hostile: $pass passed, $fail failed, $xfail known bugs"
[ "$fail" = 0 ]
