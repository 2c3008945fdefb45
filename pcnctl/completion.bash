# bash completion for pcnctl. The candidates come from the binary itself
# (`pcnctl __complete LINE`), which reads the broker's models: its
# services, instances, lists, leaves, actions and enum values (GET
# /polycube/v1/openapi.json and /cubes, cached for a few seconds).
_pcnctl() {
	local line=${COMP_LINE:0:COMP_POINT} cur=${COMP_WORDS[COMP_CWORD]} full pre c
	local IFS=$'\n'
	local -a cands
	cands=($("${COMP_WORDS[0]}" __complete "$line" 2>/dev/null))
	# bash splits "type=TC" at '=' (and "br1:p" at ':'), COMP_WORDBREAKS:
	# the word it replaces is the tail after the break, so each candidate
	# loses what precedes that tail.
	full=${line##*[[:space:]]}
	pre=${full%"$cur"}
	COMPREPLY=()
	for c in "${cands[@]}"; do
		COMPREPLY+=("${c#"$pre"}")
	done
	# "type=", "br1:": the value or the port follows without a space.
	if [[ ${#cands[@]} -eq 1 && ${cands[0]} == *[=:] ]]; then
		compopt -o nospace 2>/dev/null
	fi
	return 0
}
complete -F _pcnctl pcnctl
