/* A private bpffs for a test: mounted on a fresh temporary directory, so
 * pins never reach the host's /sys/fs/bpf, and removed with everything
 * pinned in it. */
#ifndef PCN_BPFFS_TESTUTIL_H
#define PCN_BPFFS_TESTUTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

/* Returns 0 with dir filled, or -errno (not root, no bpffs) after saying
 * why on stderr, so the caller can skip. */
static inline int bpffs_test_mount(char *dir, size_t n)
{
	snprintf(dir, n, "/tmp/pcnrt-bpffs-XXXXXX");
	if (!mkdtemp(dir))
		return -errno;
	if (mount("bpf", dir, "bpf", 0, "mode=0700")) {
		int e = errno;

		fprintf(stderr, "cannot mount a private bpffs on %s: %s\n", dir, strerror(e));
		rmdir(dir);
		return -e;
	}
	return 0;
}

/* Unmounting drops every pin of this private instance at once. */
static inline void bpffs_test_umount(const char *dir)
{
	if (umount2(dir, MNT_DETACH))
		fprintf(stderr, "cannot unmount %s: %s\n", dir, strerror(errno));
	rmdir(dir);
}

#endif
