/* The instance's pin directory. The runtime pins the instance's maps in
 * <bpffs root>/cubes/dynmon/<name>/ and keeps the root to itself; dynmon
 * needs the directory to retire the pins of maps a new code no longer
 * declares, or declares with another layout (dynmon.c). It is found in the
 * mounted bpffs by its shape and proven by identity: the pinned
 * pcn_uc_ingress there must be the very map the instance's program uses. */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "dynmon_int.h"

static uint32_t map_id(int fd)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);

	return fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

/* Tries <mnt>/cubes/dynmon/<name>/pcn_uc_ingress, then one to three
 * directories deeper. */
static int search(const char *mnt, const char *inst, uint32_t id, char *buf, size_t len)
{
	static const char *const depth[] = { "", "/*", "/*/*", "/*/*/*" };
	char pat[1400];
	int rc = -ENOENT;

	for (size_t d = 0; d < sizeof(depth) / sizeof(depth[0]) && rc; d++) {
		glob_t g;

		snprintf(pat, sizeof(pat), "%s%s/cubes/dynmon/%s/pcn_uc_ingress", mnt, depth[d], inst);
		if (glob(pat, GLOB_NOSORT, NULL, &g) != 0)
			continue;
		for (size_t i = 0; i < g.gl_pathc && rc; i++) {
			int fd = bpf_obj_get(g.gl_pathv[i]);

			if (fd >= 0 && map_id(fd) == id) {
				char *slash = strrchr(g.gl_pathv[i], '/');

				*slash = '\0';
				if ((size_t)snprintf(buf, len, "%s", g.gl_pathv[i]) < len)
					rc = 0;
			}
			if (fd >= 0)
				close(fd);
		}
		globfree(&g);
	}
	return rc;
}

int dm_pin_dir(struct pcn_instance *inst, char *buf, size_t len)
{
	uint32_t id = map_id(pcn_map_fd(inst, "pcn_uc_ingress"));
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[2048];
	int rc = -ENOENT;

	if (!id || !f) {
		if (f)
			fclose(f);
		return -ENOENT;
	}
	/* "36 35 0:30 / /sys/fs/bpf rw,... - bpf bpf rw": field 5 is the
	 * mount point, the type follows " - ". */
	while (rc && fgets(line, sizeof(line), f)) {
		char mnt[1024], *sep = strstr(line, " - ");

		if (!sep || strncmp(sep + 3, "bpf ", 4) != 0)
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %1023s", mnt) != 1)
			continue;
		rc = search(mnt, pcn_instance_name(inst), id, buf, len);
	}
	fclose(f);
	return rc;
}
