/* Table scopes (§VI-D): who else sees a map a cube's fast path declares.
 *
 *  - private (the default): any map declared the usual way. It belongs to
 *    the instance: pinned in the instance's own directory, shared by the
 *    instance's micro-cubes (they are programs of the same object) and by
 *    its reloads, seen by no other instance or cube.
 *  - namespace: a map whose name is PCN_TABLE_NS(ns, table), i.e.
 *    "<ns>__<table>". Every instance, of any cube, that declares a map of
 *    that name (with the same type and sizes) uses the same one, pinned at
 *    <bpffs>/ns/<ns>/<ns>__<table>. Cubes that do not name the namespace
 *    cannot reach it.
 *  - public: add PCN_TABLE_PUBLIC to the map's definition. It is pinned by
 *    name next to the framework's shared maps, so every cube that declares
 *    it sees it. Give public tables a prefix of your cube's: the name space
 *    is the framework's.
 *
 * Example:
 *
 *   struct {
 *           __uint(type, BPF_MAP_TYPE_HASH);
 *           ...
 *   } PCN_TABLE_NS(ddos, blacklist) SEC(".maps");   // map "ddos__blacklist"
 *
 * and in the control plane pcn_map_fd(inst, "ddos__blacklist").
 */
#ifndef PCN_TABLES_H
#define PCN_TABLES_H

#include <bpf/bpf_helpers.h>

#define PCN_TABLE_NS(ns, table) ns##__##table
#define PCN_TABLE_PUBLIC __uint(pinning, LIBBPF_PIN_BY_NAME)

#endif /* PCN_TABLES_H */
