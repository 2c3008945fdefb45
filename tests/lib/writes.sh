# Sourced after mesh.sh by the tests that write to helloworld's hw1 (ports
# peered with hosts a and b) and then ask each layer what it holds.

# cm_hw1_action: hw1's action as GET shows it (DROP, FORWARD, ...).
cm_hw1_action() { curl -s "${PCN_URL}helloworld/hw1/action" | tr -d '"{} \n' | sed 's/.*://'; }

# cm_hw1_agree_forward PEER_IP: the API, hw1's record in the datastore and
# the data plane (pings from a to PEER_IP pass) all say FORWARD; says which
# does not.
cm_hw1_agree_forward() {
	[ "$(cm_hw1_action)" = FORWARD ] || { echo "  (GET says $(cm_hw1_action))"; return 1; }
	grep -q '"FORWARD"' "$CM_STATE/instances/helloworld@hw1.json" || { echo "  (the record says otherwise)"; return 1; }
	cm_ping a "$1" || { echo "  (pings do not pass)"; return 1; }
}
