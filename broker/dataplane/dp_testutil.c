#include "dp_testutil.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void dpt_root(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "/sys/fs/bpf/cubemesh-test-%d-%s", (int)getpid(), tag);
}

void dpt_veth_names(char *a, char *b, const char *tag)
{
	/* "cmt" + pid (up to 7 digits) + tag (keep it to 4) + a/b <= 15. */
	snprintf(a, 16, "cmt%d%.4sa", (int)getpid(), tag);
	snprintf(b, 16, "cmt%d%.4sb", (int)getpid(), tag);
}

static int vsh(char *out, size_t outlen, const char *fmt, va_list ap)
{
	char cmd[1024];
	FILE *f;
	size_t n = 0;
	int st;

	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	if (out) {
		n = fread(out, 1, outlen - 1, f);
		out[n] = '\0';
	} else {
		char sink[256];

		while (fread(sink, 1, sizeof(sink), f) > 0)
			;
	}
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int dpt_sh(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vsh(NULL, 0, fmt, ap);
	va_end(ap);
	return rc;
}

int dpt_sh_grep(const char *needle, const char *fmt, ...)
{
	static char out[64 * 1024];
	va_list ap;

	va_start(ap, fmt);
	vsh(out, sizeof(out), fmt, ap);
	va_end(ap);
	return strstr(out, needle) != NULL;
}

int dpt_veth_add(const char *a, const char *b)
{
	dpt_veth_del(a);
	return dpt_sh("ip link add %s type veth peer name %s 2>&1", a, b) == 0 ? 0 : -1;
}

void dpt_veth_del(const char *a)
{
	dpt_sh("ip link del %s 2>/dev/null", a);
}

int dpt_prog_pin(bool xdp, int verdict, const char *path)
{
	/* r0 = verdict; exit */
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = verdict },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	/* Kernel 6.18 lets a PROG_ARRAY hold only programs with its owner's
	 * expected_attach_type too: libbpf loads SEC("xdp") with BPF_XDP. */
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = xdp ? BPF_XDP : 0);
	int fd;

	fd = bpf_prog_load(xdp ? BPF_PROG_TYPE_XDP : BPF_PROG_TYPE_SCHED_CLS, "dpt_prog", "GPL", insns, 2, &opts);
	if (fd < 0)
		return fd;
	unlink(path);
	if (bpf_obj_pin(fd, path) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

uint32_t dpt_prog_id(int fd)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return 0;
	return info.id;
}

int dpt_attach_logs(struct broker_dp *dp, int ifindex, enum pcn_hook hook, const char *needle, int *rc)
{
	char tmpl[] = "/tmp/cmt-log-XXXXXX", buf[16384];
	int fd = mkstemp(tmpl), saved = dup(STDERR_FILENO);
	ssize_t n;

	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	*rc = broker_netdev_attach(dp, ifindex, hook, 2, 0);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	unlink(tmpl);
	buf[n > 0 ? n : 0] = '\0';
	return strstr(buf, needle) != NULL;
}
