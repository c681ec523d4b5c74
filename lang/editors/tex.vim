" tex.vim — Vim syntax for texc's .tex model files.  Install: copy to
" ~/.vim/syntax/texc.vim and add to ~/.vimrc
"   autocmd BufRead,BufNewFile *.tex if getline(1) !~ '\\' | setfiletype texc | endif
" (.tex is also LaTeX's extension: the line above picks files without a
" backslash on their first line).  tests/docs/editors.sh keeps the word
" lists equal to the lexer's keywords and the builtins table.
if exists("b:current_syntax")
  finish
endif

syn keyword texcKeyword fn let return private inout update import loop scan while emit with next if else yield
syn keyword texcKeyword checkpoint max
syn keyword texcOperator and or not
syn keyword texcBoolean true false
syn keyword texcType f32 f64 i32 i64 bool
syn keyword texcBuiltin abs all any arange argmax argmin ceil clamp concat cos cumsum diag digamma erf erfc exp expm1 flip floor grad index_add iota jvp lgamma log log1mexp log1p log_softmax logaddexp logsumexp max mean min one_hot prod round rsqrt scatter_add sigmoid sign sin softmax softplus sqrt stack std stop_gradient sum take tanh tetragamma transpose trigamma tril triu value_and_grad var vjp where 
syn match texcNumber "\<\d\+\(\.\d\+\)\=\([eE][-+]\=\d\+\)\=\>"
syn match texcComment "#.*$" contains=texcTodo
syn keyword texcTodo TODO FIXME XXX contained
syn match texcFunction "\<fn\s\+\zs\h\w*"
syn match texcModule "\<\h\w*\ze\.\h"

hi def link texcKeyword Keyword
hi def link texcOperator Operator
hi def link texcBoolean Boolean
hi def link texcType Type
hi def link texcBuiltin Function
hi def link texcNumber Number
hi def link texcComment Comment
hi def link texcTodo Todo
hi def link texcFunction Identifier
hi def link texcModule Include

let b:current_syntax = "texc"
