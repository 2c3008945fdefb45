#!/usr/bin/env bash
# A write is saved before it is acknowledged, and undone in the cube when
# it cannot be saved: with the state directory on a full 1 MB tmpfs, a
# PATCH and a create fail with 507, and the API, the datastore and the
# data plane (helloworld's action: pings pass or not) all keep the old
# configuration, also after a broker restart; with space again the same
# write succeeds.
source "$(dirname "$0")/../lib/mesh.sh"
source "$(dirname "$0")/../lib/writes.sh"

mkdir -p "$CM_STATE"
mount -t tmpfs -o size=1m,mode=0700 "cmtest$CM_ID" "$CM_STATE"
# Lazily, and first: the broker may still hold it open, and the cleanup
# then removes $CM_TMP with the (now plain) directory.
trap 'rc=$?; umount -l "$CM_STATE" 2>/dev/null; (exit $rc); cm_cleanup' EXIT

cm_mesh_start helloworld
cm_host a 10.215.0.1/24; IFA=$CM_IF
cm_host b 10.215.0.2/24; IFB=$CM_IF
cm_neigh_static a b
REC=$CM_STATE/instances/helloworld@hw1.json

status() { # status METHOD PATH [BODY]: the HTTP status; the body in $CM_TMP/body
	cm_http "$@" | cut -d' ' -f1
}
fill() { dd if=/dev/zero of="$CM_STATE/fill" bs=4k 2>/dev/null; sync; }
restart_broker() {
	kill "$CM_BROKER_PID"
	wait "$CM_BROKER_PID" 2>/dev/null
	cm_broker_start && cm_wait_service_up helloworld
}

cm_check "hw1 between a and b, FORWARD" bash -c "$PCNCTL helloworld add hw1 && $PCNCTL hw1 ports add port1 peer=$IFA &&
	$PCNCTL hw1 ports add port2 peer=$IFB && $PCNCTL hw1 set action=FORWARD"
cm_check "pings pass" cm_ping a 10.215.0.2

fill
cm_check "the state directory is full" bash -c "! echo x 2>/dev/null >$CM_STATE/probe"
rm -f "$CM_STATE/probe"
code=$(status PATCH /helloworld/hw1/ '{"action":"DROP"}')
echo "  PATCH: $code $(cat "$CM_TMP/body")"
cm_check "PATCH DROP on a full disk: 507" [ "$code" = 507 ]
cm_check "which says why" grep -q 'no space left' "$CM_TMP/body"
cm_check "API, record and data plane still FORWARD" cm_hw1_agree_forward 10.215.0.2
code=$(status POST /helloworld/hw2/ '{"action":"FORWARD"}')
cm_check "a create on a full disk: 507 ($code)" [ "$code" = 507 ]
cm_check "hw2 does not exist (404)" [ "$(status GET /helloworld/hw2/)" = 404 ]
cm_check "nor its record" [ ! -e "$CM_STATE/instances/helloworld@hw2.json" ]
cm_check "nor its pins" [ ! -e "$CM_BPFFS/cubes/helloworld/hw2" ]

cm_check "the broker restarts (disk still full)" restart_broker
cm_check "after the restart: FORWARD everywhere" cm_hw1_agree_forward 10.215.0.2
cm_check "and no hw2" [ "$(status GET /helloworld/hw2/)" = 404 ]

rm -f "$CM_STATE/fill"
cm_check "with space again, PATCH DROP: 200" [ "$(status PATCH /helloworld/hw1/ '{"action":"DROP"}')" = 200 ]
cm_check "GET: DROP" [ "$(cm_hw1_action)" = DROP ]
cm_check "the record says DROP" grep -q '"DROP"' "$REC"
cm_check_not "DROP stops pings" cm_ping a 10.215.0.2 2
cm_check "and creating hw2 works: 201" [ "$(status POST /helloworld/hw2/ '{}')" = 201 ]
cm_done
