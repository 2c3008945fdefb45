#!/usr/bin/env bash
# Writes the seed corpora of the fuzz targets into DIR/<target>/ (the
# committed corpora under tests/fuzz/corpus/ were made by this, then
# fuzzed and minimized with scripts/fuzz.sh): pcnctl command lines of the
# tests and docs, the REST paths and bodies pcnctl makes of them, packed
# messages of every type and slow-path records (seedgen), and datastore
# records as the broker writes them (docs/DESIGN.md, broker/store/datastore.h).
# Also writes the libFuzzer dictionaries tests/fuzz/<target>.dict (names of
# the models, JSON and record keys, pcnctl's words), which fuzz.sh passes.
# Usage: seeds.sh BUILD_DIR DIR
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$1
out=$2
gen=$build/tests/fuzz/seedgen
for t in fuzz_target fuzz_config fuzz_ipc fuzz_datastore fuzz_slowpath fuzz_pcnctl; do
	mkdir -p "$out/$t"
done

# pcnctl command lines: $PCNCTL ... in the tests, pcnctl ... in the docs;
# shell variables become a plain name.
{
	grep -hoE '\$PCNCTL( [^;|&)`"<>]*)' "$src"/tests/integration/*.sh "$src"/tests/lib/*.sh |
		sed -E 's/^\$PCNCTL/pcnctl/'
	grep -hoE '(^|[ ;(`])pcnctl( [^;|&)`"<>]*)' "$src"/README.md "$src"/docs/*.md "$src"/pcnctl/README.md |
		sed -E 's/^[ ;(`]//'
} | sed -E 's/\$\{?[A-Za-z_0-9]+\}?/x1/g; s/#.*//; s/ +$//' | sort -u |
	"$gen" pcnctl "$out/fuzz_pcnctl" "$out/fuzz_target" "$out/fuzz_config"
"$gen" wire "$out/fuzz_ipc"
"$gen" slowpath "$out/fuzz_slowpath"

# Paths pcnctl does not make: escaped keys, composite keys, actions.
n=0
for p in /helloworld /helloworld/hw1 /helloworld/hw1/ports/port1/peer /router-test/r1/routes/10.0.1.0%2F24/1 \
	/router-test/r1/routes/10.0.1.0%2F24 /router-test/r1/reset /simplebridge/br1/fdb/entry/aa:bb:cc:dd:ee:ff \
	/ddosmitigator/dm1/blacklist-src/10.0.0.1/drop-pkts /transparenthelloworld/th1/ingress-action \
	/simpleforwarder/sf1/actions/0 '/helloworld/hw%2F1' '/helloworld/..' '/helloworld/%2e%2e/ports'; do
	printf '%s' "$p" >"$out/fuzz_target/extra-$n"
	n=$((n + 1))
done

# Records as the broker writes them.
rec() { printf '%s' "$2" >"$out/fuzz_datastore/$1"; }
rec hw1 '{"format":1,"service":"helloworld","name":"hw1","index":1,"uuid":"8a1c3e0e-5b1f-4a35-9f0e-2b0c1d2e3f40","ports":[{"name":"port1","index":0},{"name":"port2","index":1}],"config":{"helloworld:helloworld":[{"name":"hw1","action":"FORWARD","ports":[{"name":"port1","peer":"veth1"},{"name":"port2","peer":"veth2"}]}]}}'
rec br1 '{"format":1,"service":"simplebridge","name":"br1","index":2,"uuid":"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0","ports":[{"name":"port1","index":0}],"config":{"simplebridge:simplebridge":[{"name":"br1","type":"XDP_SKB","fdb":{"aging-time":60},"ports":[{"name":"port1","peer":"veth1"}]}]}}'
rec dm1 '{"format":1,"service":"ddosmitigator","name":"dm1","index":3,"uuid":"11111111-2222-3333-4444-555555555555","ports":[],"config":{"ddosmitigator:ddosmitigator":[{"name":"dm1","blacklist-src":[{"ip":"10.0.0.1"}]}]}}'
rec sf1 '{"format":1,"service":"simpleforwarder","name":"sf1","index":4,"uuid":"11111111-2222-3333-4444-666666666666","ports":[{"name":"p1","index":0},{"name":"p2","index":1}],"config":{"simpleforwarder:simpleforwarder":[{"name":"sf1","loglevel":"DEBUG","ports":[{"name":"p1"},{"name":"p2","peer":"hw1:port1"}]}]}}'
rec null-config '{"format":1,"service":"helloworld","name":"hw2","index":5,"uuid":"8a1c3e0e-5b1f-4a35-9f0e-2b0c1d2e3f41","ports":[],"config":null}'
rec format2 '{"format":2,"service":"helloworld","name":"hw1"}'
rec truncated '{"format":1,"service":"helloworld","name":"hw1","index":1,"uuid":"8a1c3e0e-5b1f-4a35-9f0e-2b0c'

# Dictionaries: what the fuzzer cannot guess from comparisons it sees (the
# models' names are compared inside libyang, which is not instrumented).
here=$(cd "$(dirname "$0")" && pwd)
quote() { sed -E 's/.*/"&"/'; }
yang_words() {
	grep -hoE '^\s*(module|leaf|list|container|leaf-list|enum|action|input|output) [a-zA-Z0-9_.-]+' \
		"$src"/yang/*.yang "$src"/broker/model/testdata/*.yang | awk '{print $2}'
	for m in "$src"/yang/*.yang "$src"/broker/model/testdata/*.yang; do
		n=$(basename "$m" .yang)
		echo "$n:$n"
	done
}
json_words() { printf '%s\n' '{' '}' '[' ']' ':' ',' 'true' 'false' 'null' '\"' '%2F' '%25' '/' '=' "'"; }
{ yang_words; json_words; } | sort -u | quote >"$here/fuzz_target.dict"
cp "$here/fuzz_target.dict" "$here/fuzz_config.dict"
{ yang_words; json_words; printf '%s\n' format service name index uuid ports config; } | sort -u | quote \
	>"$here/fuzz_datastore.dict"
printf '%s\n' add del set show connect disconnect attach detach services cubes topology netdevs version \
	metrics logs -j --json -v --verbose -f --follow --service --url --token -h --help -V --version -- '?' = \
	position=first position=last before= after= | quote >"$here/fuzz_pcnctl.dict"
