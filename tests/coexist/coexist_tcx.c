/* coexist_tcx IFNAME before|after PINDIR: attaches the counting program
 * (count.bpf.c, TC build) to IFNAME's tcx ingress as another owner would
 * (bpftool 7.1 cannot), first or last among the programs already there,
 * pins the link at PINDIR/link and the map at PINDIR/cx_state, prints the
 * link's id and exits: the pin keeps it attached. Kernel 6.6+. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coexist_count_tc.skel.h"

#define TCX_INGRESS 46
#define F_BEFORE (1U << 3)
#define F_AFTER (1U << 4)

int main(int argc, char **argv)
{
	struct coexist_count_tc *s;
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	char path[512];
	int ifindex, fd;

	if (argc != 4 || (strcmp(argv[2], "before") && strcmp(argv[2], "after"))) {
		fprintf(stderr, "usage: coexist_tcx IFNAME before|after PINDIR\n");
		return 2;
	}
	ifindex = (int)if_nametoindex(argv[1]);
	if (!ifindex) {
		fprintf(stderr, "coexist_tcx: no netdev %s\n", argv[1]);
		return 1;
	}
	mkdir(argv[3], 0700);
	s = coexist_count_tc__open_and_load();
	if (!s) {
		fprintf(stderr, "coexist_tcx: load: %s\n", strerror(errno));
		return 1;
	}
	LIBBPF_OPTS(bpf_link_create_opts, o, .flags = argv[2][0] == 'b' ? F_BEFORE : F_AFTER);
	fd = bpf_link_create(bpf_program__fd(s->progs.cx_count), ifindex, TCX_INGRESS, &o);
	if (fd < 0) {
		fprintf(stderr, "coexist_tcx: link: %s\n", strerror(-fd));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/link", argv[3]);
	if (bpf_obj_pin(fd, path) < 0) {
		fprintf(stderr, "coexist_tcx: pin %s: %s\n", path, strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/cx_state", argv[3]);
	if (bpf_map__pin(s->maps.cx_state, path) < 0) {
		fprintf(stderr, "coexist_tcx: pin %s: %s\n", path, strerror(errno));
		return 1;
	}
	memset(&info, 0, sizeof(info));
	bpf_obj_get_info_by_fd(fd, &info, &len);
	printf("%u\n", info.id);
	close(fd);
	coexist_count_tc__destroy(s);
	return 0;
}
