# texc.bash — bash completion for texc (installed by make install into
# PREFIX/share/bash-completion/completions/texc).
_texc() {
  local cur prev
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD-1]}
  case $prev in
    -o|--depfile) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --stdlib) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --grad|--wrt|--dims|--seed) return ;;
  esac
  case $cur in
    --emit=*) COMPREPLY=($(compgen -P --emit= -W "so ir kernels llvm asm obj header ast dot" -- "${cur#--emit=}")); return ;;
    --cpu=*) COMPREPLY=($(compgen -P --cpu= -W "host x86-64 x86-64-v2 x86-64-v3 x86-64-v4 haswell skylake-avx512 znver3 znver4" -- "${cur#--cpu=}")); return ;;
    --disable-pass=*|--print-after=*|--passes=*)
      local opt=${cur%%=*}= passes
      passes=$(texc --list-passes 2>/dev/null | awk '{print $1}')
      COMPREPLY=($(compgen -P "$opt" -W "$passes all" -- "${cur#*=}")); return ;;
    -*) COMPREPLY=($(compgen -W "-o --emit= --prefix= --cpu= -O0 -O1 -O2 -O3 --grad --wrt --grad-all --fast-math
          --print-after= --disable-pass= --passes= --verify --stats --dims --depfile --stdlib --list-passes --help
          --version --jvp --forward --seed" -- "$cur"))
        [ "${COMPREPLY[0]}" != "${COMPREPLY[0]%=}" ] && compopt -o nospace 2>/dev/null
        return ;;
  esac
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "check-grad" -- "$cur") $(compgen -f -X '!*.@(tex|ir)' -- "$cur") $(compgen -d -- "$cur"))
  else
    COMPREPLY=($(compgen -f -X '!*.@(tex|ir)' -- "$cur") $(compgen -d -- "$cur"))
  fi
}
complete -F _texc texc
