/* Table scopes (bpf/pcn_tables.h): where a map of a namespace is pinned. */
#include "pcn_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int pcn__ns_pin_path(const char *shared_root, const char *map, char *path, size_t n)
{
	const char *sep = strstr(map, "__"), *slash;
	char dir[PATH_MAX];
	int rc;

	/* "<ns>__<table>" with both parts non-empty; libbpf's internal maps
	 * (".rodata", ...) never get here. */
	if (!sep || sep == map || !sep[2] || !shared_root)
		return 0;
	/* The namespaces live beside shared/: <bpffs>/ns/<ns>/. */
	slash = strrchr(shared_root, '/');
	if (!slash)
		return -EINVAL;
	if (snprintf(dir, sizeof(dir), "%.*s/ns/%.*s", (int)(slash - shared_root), shared_root, (int)(sep - map),
		     map) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	rc = pcn__mkdirs(dir);
	if (rc)
		return rc;
	if ((size_t)snprintf(path, n, "%s/%s", dir, map) >= n)
		return -ENAMETOOLONG;
	return 1;
}
