#!/bin/sh
# editors.sh — lang/editors stays true to the language: every keyword of the
# lexer (frontend/lexer.re), every dtype and every builtin (the rows of
# frontend/builtins.c and the F_BUILTIN ops of lang/ops.def) is in the Vim
# syntax file and in the TextMate grammar, and the grammar is valid JSON.
set -eu
vim=lang/editors/tex.vim
tm=lang/editors/texc.tmLanguage.json
/usr/bin/python3 -c "import json, sys; json.load(open(sys.argv[1]))" "$tm" || { echo "FAIL editors: $tm is not JSON"; exit 1; }
words=$( (sed -n 's/^ *"\([a-z][a-z0-9]*\)" *\(|.*\)\?{ .*/\1/p' frontend/lexer.re
          sed -n 's/^ *"f32" | .*/f32 f64 i32 i64 bool/p' frontend/lexer.re | tr ' ' '\n'
          grep -o 'ROW("[a-z_0-9]*"' frontend/builtins.c | sed 's/ROW("//;s/"//'
          grep '^OP(.*F_BUILTIN' lang/ops.def | sed 's/^OP([A-Z_0-9]*, *"\([a-z_0-9]*\)".*/\1/') | sort -u)
[ "$(echo "$words" | wc -l)" -gt 60 ] || { echo "FAIL editors: found only $(echo "$words" | wc -l) words"; exit 1; }
bad=0
for w in $words; do
  grep -qw -- "$w" "$vim" || { echo "FAIL editors: '$w' is missing from $vim"; bad=1; }
  grep -q -- "[|(]$w[|)]" "$tm" || { echo "FAIL editors: '$w' is missing from $tm"; bad=1; }
done
if command -v vim >/dev/null 2>&1; then  # Vim itself reads the file without an error
  log=$(mktemp)
  vim -Nu NONE -es -c "redir! > $log" -c "source $vim" -c 'echo b:current_syntax' -c 'redir END' -c 'qa!' </dev/null || true
  out=$(tr -d '\n' < "$log")
  rm -f "$log"
  [ "$out" = "texc" ] || { echo "FAIL editors: vim says: $out"; bad=1; }
fi
[ $bad = 0 ] && echo "editors: ok ($(echo "$words" | wc -l) words in both files)"
exit $bad
