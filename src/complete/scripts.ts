// The completion scripts: each hands the words typed so far to `rdsctl completion --line` and
// offers what it prints, one candidate per line.

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

const BASH = `# rdsctl completion for bash: source <(rdsctl completion bash)
_rdsctl() {
  local cur words cword
  if declare -F _get_comp_words_by_ref >/dev/null 2>&1; then
    _get_comp_words_by_ref -n =: cur words cword
  else
    words=("\${COMP_WORDS[@]}"); cword=$COMP_CWORD; cur=\${COMP_WORDS[COMP_CWORD]}
  fi
  local IFS=$'\\n'
  COMPREPLY=($(command rdsctl completion --line -- "\${words[@]:1:cword}" 2>/dev/null))
  if declare -F __ltrim_colon_completions >/dev/null 2>&1; then __ltrim_colon_completions "$cur"; fi
}
complete -o default -F _rdsctl rdsctl
`;

const ZSH = `#compdef rdsctl
# rdsctl completion for zsh: rdsctl completion zsh > "\${fpath[1]}/_rdsctl" (or source it after compinit)
_rdsctl() {
  local -a cands
  cands=("\${(@f)$(command rdsctl completion --line -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  cands=(\${cands:#})
  (( \${#cands} )) && compadd -Q -- "\${cands[@]}"
}
if [[ -n \${ZSH_VERSION-} ]] && (( \${+functions[compdef]} )); then compdef _rdsctl rdsctl; fi
`;

const FISH = `# rdsctl completion for fish: rdsctl completion fish > ~/.config/fish/completions/rdsctl.fish
function __rdsctl_complete
    set -l tokens (commandline -opc) (commandline -ct)
    command rdsctl completion --line -- $tokens[2..-1] 2>/dev/null
end
complete -c rdsctl -f -a '(__rdsctl_complete)'
`;

export function completionScript(shell: Shell): string {
  return shell === 'bash' ? BASH : shell === 'zsh' ? ZSH : FISH;
}
