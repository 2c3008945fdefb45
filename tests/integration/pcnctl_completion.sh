#!/usr/bin/env bash
# pcnctl where people type, on a live mesh (helloworld):
#  - bash completion (pcnctl/completion.bash): `complete -p pcnctl` names
#    its function; the candidates, from the broker's models, at each point
#    of a line as bash splits it (COMP_WORDS, COMP_CWORD, COMP_LINE,
#    COMP_POINT as readline sets them): commands, services and instances
#    first; inside an instance its lists, leaves, actions and verbs; a
#    list's live keys; enum values after "key="; a wire's ends (an
#    instance's live ports after "hw1:", the host's netdevs); a service
#    registered later, once the short cache has expired;
#  - the install step puts the script where bash-completion finds it;
#  - output: a table by default for a list, -j JSON, -o yaml the same data
#    as YAML, a bad -o refused.
source "$(dirname "$0")/../lib/mesh.sh"

COMPLETION=${CM_SRC:-$(dirname "$0")/../..}/pcnctl/completion.bash
export PATH="$(dirname "$PCNCTL"):$PATH"
export XDG_RUNTIME_DIR=$CM_TMP # the completion's cache, removed with the test
export PCNCTL_COMPLETE_TTL=0

cm_mesh_start helloworld
"$PCNCTL" helloworld add hw1 action=forward >/dev/null
"$PCNCTL" hw1 ports add p1 >/dev/null
"$PCNCTL" hw1 ports add p2 >/dev/null

cm_check "completion.bash exists" test -f "$COMPLETION"
# shellcheck disable=SC1090
source "$COMPLETION" 2>/dev/null
cm_check "complete -p pcnctl names the completion function" \
	bash -c "source '$COMPLETION'; complete -p pcnctl | grep -q -- '-F _pcnctl pcnctl'"

# comp LINE: the completed lines bash would show for LINE (cursor at its
# end), one per line, sorted: what precedes the current word plus each
# COMPREPLY entry. COMP_WORDS split as readline does (blanks, and = and :
# from COMP_WORDBREAKS as words of their own).
comp() {
	local line=$1 r
	local -a words
	read -ra words <<<"$(sed 's/[=:]/ & /g' <<<"$line")"
	[[ $line == *" " || -z $line ]] && words+=("")
	COMP_WORDS=("${words[@]}")
	COMP_CWORD=$((${#words[@]} - 1))
	COMP_LINE=$line
	COMP_POINT=${#line}
	COMPREPLY=()
	_pcnctl pcnctl "${words[COMP_CWORD]}" "${words[COMP_CWORD - 1]:-}"
	for r in "${COMPREPLY[@]}"; do
		echo "${line:0:${#line} - ${#COMP_WORDS[COMP_CWORD]}}$r"
	done | sort
}
# has LINE WORD...: each "LINE-without-its-last-word + WORD" is offered.
has() {
	local line=$1 out w base
	shift
	out=$(comp "$line")
	base=${line%"${line##*[[:space:]]}"}
	for w in "$@"; do
		grep -qxF -- "$base$w" <<<"$out" || { echo "  '$line' lacks '$w': $(tr '\n' '|' <<<"$out")"; return 1; }
	done
}
lacks() {
	local line=$1 out w base
	shift
	out=$(comp "$line")
	base=${line%"${line##*[[:space:]]}"}
	for w in "$@"; do
		grep -qxF -- "$base$w" <<<"$out" && { echo "  '$line' offers '$w'"; return 1; }
	done
	return 0
}
exactly() {
	local line=$1 want got
	shift
	want=$(printf '%s\n' "$@" | sort)
	got=$(comp "$line")
	[ "$got" = "$want" ] || { echo "  '$line': got '$(tr '\n' '|' <<<"$got")', want '$(tr '\n' '|' <<<"$want")'"; return 1; }
}

cm_check "pcnctl <TAB>: commands, services, instances" has "pcnctl " connect attach cubes logs helloworld hw1
cm_check "pcnctl h<TAB>: the service and the instance" exactly "pcnctl h" "pcnctl helloworld" "pcnctl hw1"
cm_check "pcnctl helloworld <TAB>: add" exactly "pcnctl helloworld " "pcnctl helloworld add"
cm_check "pcnctl hw1 <TAB>: its lists, leaves and verbs" has "pcnctl hw1 " ports action stats show set del
cm_check "pcnctl hw1 <TAB>: not the leaves of its lists" lacks "pcnctl hw1 " peer p1
cm_check "pcnctl hw1 ports <TAB>: the live keys and add" has "pcnctl hw1 ports " p1 p2 add show
cm_check "pcnctl hw1 ports p1 <TAB>: the entry's leaves" has "pcnctl hw1 ports p1 " peer name show set
cm_check "pcnctl hw1 set <TAB>: writable leaves as key=" has "pcnctl hw1 set " action=
cm_check "pcnctl hw1 set <TAB>: no state leaf" lacks "pcnctl hw1 set " stats= name=
cm_check "pcnctl hw1 set action=<TAB>: the enum values" exactly "pcnctl hw1 set action=" \
	"pcnctl hw1 set action=DROP" "pcnctl hw1 set action=FORWARD" "pcnctl hw1 set action=SLOWPATH"
cm_check "pcnctl hw1 set action=SL<TAB>: completes the value" exactly "pcnctl hw1 set action=SL" \
	"pcnctl hw1 set action=SLOWPATH"
cm_check "pcnctl --url URL hw1 <TAB>: the options are read" has "pcnctl --url $PCN_URL hw1 " ports
cm_check "pcnctl -o <TAB>: the formats" exactly "pcnctl -o " "pcnctl -o json" "pcnctl -o table" "pcnctl -o yaml"
cm_check "an unknown word: nothing offered" exactly "pcnctl hw1 nosuch "
cm_check "pcnctl connect hw1:<TAB>: the instance's live ports" exactly "pcnctl connect hw1:" \
	"pcnctl connect hw1:p1" "pcnctl connect hw1:p2"
cm_check "pcnctl connect hw1:p1 <TAB>: cube ports and the host's netdevs" \
	has "pcnctl connect hw1:p1 " hw1: "$(ip -o link show | awk -F': ' 'NR==1{print $2}')"

# The cache: a service registered while it is fresh shows after it expires.
PCNCTL_COMPLETE_TTL=60 comp "pcnctl " >/dev/null
cm_cube_start simpleforwarder
cm_check "within the cache's life, the old list" env PCNCTL_COMPLETE_TTL=60 bash -c \
	"source '$COMPLETION'; $(declare -f comp lacks); lacks 'pcnctl ' simpleforwarder"
cm_check "a service registered later is offered (cache off)" has "pcnctl " simpleforwarder

# Installed by the build's install step.
# (pcnctl's part only: a sanitizer build may not have built every cube.)
cmake --install "$CM_BUILD/pcnctl" --prefix "$CM_TMP/inst" >"$CM_TMP/install.log" 2>&1
cm_check "cmake --install puts it in share/bash-completion/completions/pcnctl" \
	cmp -s "$COMPLETION" "$CM_TMP/inst/share/bash-completion/completions/pcnctl"

# Output formats.
table=$("$PCNCTL" hw1 ports 2>&1)
cm_check "a list prints as a table by default (header, one row per entry)" \
	bash -c "grep -Eq '^ *name +' <<<'$table' && grep -Eq '^ *p1 ' <<<'$table' && grep -Eq '^ *p2 ' <<<'$table'"
cm_check "-j prints JSON" bash -c "'$PCNCTL' -j hw1 | python3 -c 'import json,sys; json.load(sys.stdin)'"
yaml=$("$PCNCTL" -o yaml hw1 2>&1)
cm_check "-o yaml prints YAML (action: FORWARD, ports as a sequence)" \
	bash -c "grep -q '^action: FORWARD$' <<<'$yaml' && grep -q '^ports:$' <<<'$yaml' && grep -q '^- name: p1$' <<<'$yaml'"
if python3 -c 'import yaml' 2>/dev/null; then
	cm_check "-o yaml holds the same data as -j" python3 -c '
import json, subprocess, sys, yaml
p = sys.argv[1]
j = json.loads(subprocess.check_output([p, "-j", "hw1", "ports"]))
y = yaml.safe_load(subprocess.check_output([p, "-o", "yaml", "hw1", "ports"]))
sys.exit(0 if j == y else 1)' "$PCNCTL"
fi
cm_check "-o json is -j" bash -c "diff <('$PCNCTL' -o json hw1) <('$PCNCTL' -j hw1)"
cm_check_not "-o xml is refused" "$PCNCTL" -o xml hw1
cm_done
