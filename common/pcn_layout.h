/* Where things live on disk, and the one place their paths are built.
 *
 * bpffs, below the root the broker is given (--bpffs-root):
 *   shared/                 maps and programs every fast path shares
 *   shared/clsact/<ifindex> a netdev's TC anchors
 *   cubes/<service>/<name>/ one instance's pins (prog, prog_tc, its maps)
 *   ns/<namespace>/         table scopes (<ns>__<table> maps)
 * state directory (--state-dir):
 *   instances/<service>@<name>.json   one datastore record per instance
 * socket directory (--sock-dir), nng ipc endpoints:
 *   broker.sock, slowpath.sock, logs.sock   the broker's
 *   cube-<service>.sock, cube-<service>-<pid>.sock (while another process
 *   of the service holds the first), cube-<service>-pkt.sock  a cube's
 *
 * Beside the paths, what every process (broker, cube runtime, pcnctl) must
 * spell the same: the hooks and their names, "cube:port" peers, and how an
 * errno becomes an HTTP status.
 *
 * Every path is built from components by pcn_path(), which refuses a
 * component that is not exactly one safe step (empty, ".", "..", a '/', a
 * character outside the rule, too long) with -EINVAL and a path that does
 * not fit with -ENAMETOOLONG: a crafted name can never climb out of its
 * directory or be cut into another one.
 */
#ifndef CUBEMESH_PCN_LAYOUT_H
#define CUBEMESH_PCN_LAYOUT_H

#include <stdarg.h>
#include <stddef.h>

/* An instance, port or service name's buffer: 1 to 63 characters and the NUL. */
#define PCN_NAME_MAX 64
/* A component's longest length (the kernel's NAME_MAX). */
#define PCN_COMPONENT_MAX 255

#define PCN_LAYOUT_SHARED "shared"
#define PCN_LAYOUT_CUBES "cubes"
#define PCN_LAYOUT_NS "ns"
#define PCN_LAYOUT_CLSACT "clsact"
#define PCN_LAYOUT_INSTANCES "instances"
#define PCN_PIN_PROG "prog"
#define PCN_PIN_PROG_TC "prog_tc"

/* 0 when name may name an instance or a service: 1 to PCN_NAME_MAX - 1
 * letters, digits, '_' and '-'. No '.': bpffs refuses a name that holds
 * one (mkdir fails with EPERM), and these names become pin directories.
 * -EINVAL otherwise (NULL too). */
int pcn_name_check(const char *name);

/* 0 when c is one safe path component: 1 to PCN_COMPONENT_MAX letters,
 * digits, '_', '-' and '.', and neither "." nor "..". -EINVAL otherwise. */
int pcn_component_check(const char *c);

/* buf = root/c1/c2/... for the NULL-terminated components, each checked
 * with pcn_component_check. root is taken as given (the operator's); NULL
 * or "" builds a path relative to it ("c1/c2"). 0, -EINVAL (an unsafe
 * component) or -ENAMETOOLONG (it does not fit in len); on error buf holds
 * "" (when len > 0), never a cut path. */
int pcn_path(char *buf, size_t len, const char *root, ...) __attribute__((sentinel));
int pcn_vpath(char *buf, size_t len, const char *root, va_list ap);

/* <root>/cubes/<service>/<name>, and /<pin> when pin is not NULL. service
 * and name must pass pcn_name_check. */
int pcn_layout_cube(char *buf, size_t len, const char *root, const char *service, const char *name,
		    const char *pin);

/* <root>/shared, and /<pin> when pin is not NULL. */
int pcn_layout_shared(char *buf, size_t len, const char *root, const char *pin);

/* "<service>@<name>.json", the datastore record's file in instances/ (and
 * with suffix, e.g. ".tmp", appended when not NULL). service and name are
 * components of at most PCN_NAME_MAX - 1 characters. */
int pcn_layout_record(char *buf, size_t len, const char *service, const char *name, const char *suffix);

/* The broker's sockets in the socket directory. */
#define PCN_SOCK_BROKER "broker.sock"
#define PCN_SOCK_SLOWPATH "slowpath.sock"
#define PCN_SOCK_LOGS "logs.sock"
/* A cube process's: "cube-<service>.sock" (kind PCN_SOCK_CUBE), its
 * packets' "cube-<service>-pkt.sock" (PCN_SOCK_CUBE_PKT), or, while an
 * older process of the service holds the first, "cube-<service>-<pid>.sock"
 * (PCN_SOCK_CUBE_PID). 0, or -ENAMETOOLONG. */
enum pcn_sock_kind { PCN_SOCK_CUBE, PCN_SOCK_CUBE_PKT, PCN_SOCK_CUBE_PID };
int pcn_sock_cube(char *buf, size_t len, enum pcn_sock_kind kind, const char *service, int pid);
/* The unix stream socket a cube process serves its live streams on
 * (pcn_stream_write), beside its endpoint: the endpoint's url
 * ("ipc:///run/cubemesh/cube-<service>[-<pid>].sock") with ".sock" made
 * ".stream", as a path. Names hold no '.', so no cube's ".sock" can be
 * another's ".stream". 0, -EINVAL (not such a url) or -ENAMETOOLONG. */
int pcn_sock_stream(char *buf, size_t len, const char *endpoint_url);

/* Where an instance's fast path runs: the YANG `type` leaf, the proto's
 * Hook (same numbers), PatchPanel families. */
enum pcn_hook {
	PCN_HOOK_TC = 0,
	PCN_HOOK_XDP_SKB = 1,
	PCN_HOOK_XDP_DRV = 2,
};
#define PCN_HOOK_COUNT 3
/* "TC", "XDP_SKB", "XDP_DRV" (the model's spelling); "?" out of range. */
const char *pcn_hook_name(enum pcn_hook hook);
/* The hook a name spells (any case), or -EINVAL. */
int pcn_hook_parse(const char *name, enum pcn_hook *out);

/* A port's peer is a netdev ("veth1") or another cube's port ("br1:port2").
 * Splits "cube:port" into its parts (each 1..PCN_NAME_MAX-1 characters, no
 * second ':'): 1; a netdev name (no ':'): 0 with cube and port untouched;
 * -EINVAL for anything else (empty part, two colons, too long). */
int pcn_peer_split(const char *peer, char *cube, size_t cube_len, char *port, size_t port_len);

/* Errors between processes and to HTTP clients, one table both ways:
 * -EINVAL 400, -ENOENT 404, -EEXIST/-EBUSY 409, -E2BIG 413, -EPROTO 422,
 * -EAGAIN 503, -ENOSPC 507; anything else 500 (-EIO back). */
int pcn_errno_http(int rc);
int pcn_http_errno(int status);
/* The RESTCONF error-tag of a status: "invalid-value", "data-missing",
 * "data-exists", "resource-denied", otherwise "operation-failed". */
const char *pcn_http_tag(int status);

#endif
