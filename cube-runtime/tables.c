/* Table scopes (bpf/pcn_tables.h): where a map of a namespace is pinned. */
#include "pcn_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int pcn__ns_pin_path(const char *shared_root, const char *map, char *path, size_t n)
{
	const char *sep = strstr(map, "__"), *slash;
	char dir[PATH_MAX], root[PATH_MAX], ns[PCN_COMPONENT_MAX + 1];
	int rc;

	/* "<ns>__<table>" with both parts non-empty; libbpf's internal maps
	 * (".rodata", ...) never get here. */
	if (!sep || sep == map || !sep[2] || !shared_root)
		return 0;
	/* The namespaces live beside shared/: <bpffs>/ns/<ns>/. */
	slash = strrchr(shared_root, '/');
	if (!slash)
		return -EINVAL;
	if ((size_t)(slash - shared_root) >= sizeof(root) || (size_t)(sep - map) >= sizeof(ns))
		return -ENAMETOOLONG;
	memcpy(root, shared_root, (size_t)(slash - shared_root));
	root[slash - shared_root] = '\0';
	memcpy(ns, map, (size_t)(sep - map));
	ns[sep - map] = '\0';
	rc = pcn_path(dir, sizeof(dir), root[0] ? root : "/", PCN_LAYOUT_NS, ns, (const char *)NULL);
	if (!rc)
		rc = pcn__mkdirs(dir);
	if (!rc)
		rc = pcn_path(path, n, dir, map, (const char *)NULL);
	if (rc)
		return rc;
	return 1;
}
