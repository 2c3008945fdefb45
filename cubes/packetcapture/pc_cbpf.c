/* Classic BPF (libpcap's pcap_compile) into C for the fast path.
 *
 * Each instruction i becomes one C statement under a label L<i> (only the
 * jump targets get one). The registers are C variables (A, X and the
 * scratch memory M[16], all starting at 0 so the verifier sees them
 * written); classic BPF's jumps all go forward, so the gotos build a loop
 * free program the verifier walks like any other. What classic BPF does
 * at run time is kept: a load past the end of the packet, or a division
 * by X == 0, rejects the packet (returns 0), as libpcap's bpf_filter does.
 * pc_cbpf_test checks the translation against bpf_filter packet by packet.
 */

#include "pc_cbpf.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pcap/pcap.h>

#ifndef PC_BPF_INCLUDE_DIR
#define PC_BPF_INCLUDE_DIR "/usr/include/cubemesh/bpf"
#endif

/* libpcap's limit (the kernel's BPF_MAXINSNS). */
#define PC_MAXINSNS 4096
#define PC_MARKER "/* PC_FILTER_HERE"

int pc_cbpf_is_all(const char *expr)
{
	const char *p = expr;

	if (!p)
		return 1;
	while (isspace((unsigned char)*p))
		p++;
	if (!*p)
		return 1;
	if (strncmp(p, "all", 3))
		return 0;
	p += 3;
	while (isspace((unsigned char)*p))
		p++;
	return *p == '\0';
}

int pc_cbpf_compile(const char *expr, uint32_t snaplen, struct bpf_program *prog, char *err, size_t errlen)
{
	pcap_t *p = pcap_open_dead(DLT_EN10MB, (int)(snaplen ? snaplen : 262144));
	int rc = 0;

	if (!p) {
		snprintf(err, errlen, "libpcap: cannot open a dead handle");
		return -ENOMEM;
	}
	if (pcap_compile(p, prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		snprintf(err, errlen, "%s", pcap_geterr(p));
		rc = -EINVAL;
	} else if (!bpf_validate(prog->bf_insns, (int)prog->bf_len)) {
		/* libpcap's own output: never expected. */
		snprintf(err, errlen, "libpcap produced an invalid program");
		pcap_freecode(prog);
		rc = -EINVAL;
	}
	pcap_close(p);
	return rc;
}

static const char *alu_op(unsigned op)
{
	switch (op) {
	case BPF_ADD: return "+";
	case BPF_SUB: return "-";
	case BPF_MUL: return "*";
	case BPF_OR: return "|";
	case BPF_AND: return "&";
	case BPF_XOR: return "^";
	default: return NULL;
	}
}

/* One instruction; false for one the translation does not know. */
static bool emit(FILE *f, const struct bpf_insn *in, unsigned i, unsigned n)
{
	unsigned code = in->code, k = in->k;
	const char *sz;
	unsigned bytes;

	switch (BPF_CLASS(code)) {
	case BPF_LD:
	case BPF_LDX: {
		const char *r = BPF_CLASS(code) == BPF_LD ? "A" : "X";

		switch (BPF_MODE(code)) {
		case BPF_IMM:
			fprintf(f, "\t%s = %uu;\n", r, k);
			return true;
		case BPF_MEM:
			if (k >= BPF_MEMWORDS)
				return false;
			fprintf(f, "\t%s = M[%u];\n", r, k);
			return true;
		case BPF_LEN:
			fprintf(f, "\t%s = wirelen;\n", r);
			return true;
		case BPF_MSH:
			if (BPF_CLASS(code) != BPF_LDX)
				return false;
			fprintf(f, "\tif (pc_ld(ctx, %uu, 1, &t)) return 0;\n\tX = (t & 0xf) << 2;\n", k);
			return true;
		case BPF_ABS:
		case BPF_IND:
			if (BPF_CLASS(code) != BPF_LD)
				return false;
			switch (BPF_SIZE(code)) {
			case BPF_W: bytes = 4; break;
			case BPF_H: bytes = 2; break;
			case BPF_B: bytes = 1; break;
			default: return false;
			}
			if (BPF_MODE(code) == BPF_ABS)
				fprintf(f, "\tif (pc_ld(ctx, %uu, %u, &A)) return 0;\n", k, bytes);
			else /* X + k must not wrap around */
				fprintf(f, "\tt = X + %uu;\n\tif (t < X || pc_ld(ctx, t, %u, &A)) return 0;\n", k,
					bytes);
			return true;
		default:
			return false;
		}
	}
	case BPF_ST:
	case BPF_STX:
		if (k >= BPF_MEMWORDS)
			return false;
		fprintf(f, "\tM[%u] = %s;\n", k, BPF_CLASS(code) == BPF_ST ? "A" : "X");
		return true;
	case BPF_ALU: {
		unsigned op = BPF_OP(code);
		char src[16];

		if (BPF_SRC(code) == BPF_X)
			snprintf(src, sizeof(src), "X");
		else
			snprintf(src, sizeof(src), "%uu", k);
		if (op == BPF_NEG) {
			fprintf(f, "\tA = -A;\n");
			return true;
		}
		if (op == BPF_DIV || op == BPF_MOD) {
			if (BPF_SRC(code) == BPF_X)
				fprintf(f, "\tif (X == 0) return 0;\n");
			else if (k == 0)
				return false;
			fprintf(f, "\tA = A %s %s;\n", op == BPF_DIV ? "/" : "%", src);
			return true;
		}
		if (op == BPF_LSH || op == BPF_RSH) {
			/* A shift of 32 or more: x86's, as bpf_filter runs there. */
			fprintf(f, "\tA = A %s (%s & 31);\n", op == BPF_LSH ? "<<" : ">>", src);
			return true;
		}
		sz = alu_op(op);
		if (!sz)
			return false;
		fprintf(f, "\tA = A %s %s;\n", sz, src);
		return true;
	}
	case BPF_JMP: {
		unsigned op = BPF_OP(code), jt, jf;
		char src[16];

		if (op == BPF_JA) {
			if ((unsigned long)i + 1 + k >= n)
				return false;
			fprintf(f, "\tgoto L%u;\n", i + 1 + k);
			return true;
		}
		jt = i + 1 + in->jt;
		jf = i + 1 + in->jf;
		if (jt >= n || jf >= n)
			return false;
		if (BPF_SRC(code) == BPF_X)
			snprintf(src, sizeof(src), "X");
		else
			snprintf(src, sizeof(src), "%uu", k);
		switch (op) {
		case BPF_JEQ: sz = "A == "; break;
		case BPF_JGT: sz = "A > "; break;
		case BPF_JGE: sz = "A >= "; break;
		case BPF_JSET: sz = "A & "; break;
		default: return false;
		}
		fprintf(f, "\tif (%s%s) goto L%u; else goto L%u;\n", sz, src, jt, jf);
		return true;
	}
	case BPF_RET:
		if (BPF_RVAL(code) == BPF_K)
			fprintf(f, "\treturn %uu;\n", k);
		else if (BPF_RVAL(code) == BPF_A)
			fprintf(f, "\treturn A;\n");
		else
			return false;
		return true;
	case BPF_MISC:
		if (BPF_MISCOP(code) == BPF_TAX)
			fprintf(f, "\tX = A;\n");
		else if (BPF_MISCOP(code) == BPF_TXA)
			fprintf(f, "\tA = X;\n");
		else
			return false;
		return true;
	default:
		return false;
	}
}

/* Marks the instructions some jump lands on. */
static void targets(const struct bpf_program *prog, bool *t)
{
	for (unsigned i = 0; i < prog->bf_len; i++) {
		const struct bpf_insn *in = &prog->bf_insns[i];

		if (BPF_CLASS(in->code) != BPF_JMP)
			continue;
		if (BPF_OP(in->code) == BPF_JA) {
			if ((unsigned long)i + 1 + in->k < prog->bf_len)
				t[i + 1 + in->k] = true;
			continue;
		}
		if (i + 1 + in->jt < prog->bf_len)
			t[i + 1 + in->jt] = true;
		if (i + 1 + in->jf < prog->bf_len)
			t[i + 1 + in->jf] = true;
	}
}

char *pc_cbpf_to_c(const struct bpf_program *prog)
{
	char *buf = NULL;
	size_t len = 0;
	bool *t, ok = true;
	FILE *f;

	if (!prog || !prog->bf_len || prog->bf_len > PC_MAXINSNS)
		return NULL;
	t = calloc(prog->bf_len, sizeof(*t));
	if (!t)
		return NULL;
	targets(prog, t);
	f = open_memstream(&buf, &len);
	if (!f) {
		free(t);
		return NULL;
	}
	fprintf(f, "#define PC_FILTER_GENERATED 1\n"
		   "static __always_inline __u32 pc_filter(struct __ctx_buff *ctx, __u32 wirelen)\n{\n"
		   "\t__u32 A = 0, X = 0, t = 0;\n\t__u32 M[%d] = {};\n\n"
		   "\t(void)wirelen; (void)t; (void)M; (void)X;\n",
		BPF_MEMWORDS);
	for (unsigned i = 0; ok && i < prog->bf_len; i++) {
		if (t[i])
			fprintf(f, "L%u:\n", i);
		ok = emit(f, &prog->bf_insns[i], i, prog->bf_len);
	}
	/* bpf_validate made sure the last instruction returns. */
	fprintf(f, "\treturn 0;\n}\n");
	if (fclose(f) || !ok) {
		free(buf);
		buf = NULL;
	}
	free(t);
	return buf;
}

char *pc_cbpf_source(const char *expr, uint32_t snaplen, const char *bpf_src, size_t bpf_len,
		     const char *shared_h, size_t shared_len, size_t *len, int *rc, char *err, size_t errlen)
{
	struct bpf_program prog = { 0 };
	const char *mark = memmem(bpf_src, bpf_len, PC_MARKER, strlen(PC_MARKER));
	char *filter, *out = NULL;
	size_t head;
	FILE *f;

	*rc = pc_cbpf_compile(expr, snaplen, &prog, err, errlen);
	if (*rc)
		return NULL;
	filter = pc_cbpf_to_c(&prog);
	pcap_freecode(&prog);
	if (!filter || !mark) {
		snprintf(err, errlen, "cannot translate the filter into C");
		*rc = -EINVAL;
		free(filter);
		return NULL;
	}
	head = (size_t)(mark - bpf_src);
	f = open_memstream(&out, len);
	if (!f) {
		*rc = -ENOMEM;
		free(filter);
		return NULL;
	}
	fprintf(f, "#define PC_SOURCE_INLINE 1\n");
	fwrite(shared_h, 1, shared_len, f);
	fwrite(bpf_src, 1, head, f);
	fputs(filter, f);
	fwrite(bpf_src + head, 1, bpf_len - head, f);
	free(filter);
	if (fclose(f)) {
		free(out);
		*rc = -ENOMEM;
		return NULL;
	}
	return out;
}

struct pc_cbpf {
	struct bpf_program prog;
};

struct pc_cbpf *pc_cbpf_new(const char *expr, uint32_t snaplen, char *err, size_t errlen)
{
	struct pc_cbpf *p = calloc(1, sizeof(*p));

	if (p && pc_cbpf_compile(expr, snaplen, &p->prog, err, errlen)) {
		free(p);
		p = NULL;
	}
	return p;
}

unsigned pc_cbpf_reference(const struct pc_cbpf *prog, const uint8_t *pkt, size_t len)
{
	return bpf_filter(prog->prog.bf_insns, pkt, (u_int)len, (u_int)len);
}

void pc_cbpf_free(struct pc_cbpf *prog)
{
	if (prog)
		pcap_freecode(&prog->prog);
	free(prog);
}

int pc_cbpf_build(const char *src, size_t len, int tc, void **bytes, size_t *size, char *err, size_t errlen)
{
	char dir[] = "/tmp/pc-filter.XXXXXX", c[64], o[64], e[64], inc[PATH_MAX + 2];
	const char *incdir = getenv("PCN_BPF_INCLUDE_DIR");
	void *buf = NULL;
	struct stat sb;
	int fd = -1, rc = 0, st;
	pid_t pid;

	err[0] = '\0';
	if (!mkdtemp(dir))
		return -errno;
	snprintf(c, sizeof(c), "%s/f.bpf.c", dir);
	snprintf(o, sizeof(o), "%s/f.bpf.o", dir);
	snprintf(e, sizeof(e), "%s/cc.err", dir);
	snprintf(inc, sizeof(inc), "-I%s", incdir && incdir[0] ? incdir : PC_BPF_INCLUDE_DIR);
	fd = open(c, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, src, len) != (ssize_t)len) {
		rc = fd < 0 ? -errno : -EIO;
		goto out;
	}
	close(fd);
	fd = -1;
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		goto out;
	}
	if (pid == 0) {
		int efd = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (efd >= 0)
			dup2(efd, 2);
		execlp("clang", "clang", "-O2", "-g", "-target", "bpf", tc ? "-DPCN_HOOK_TC" : "-DPCN_HOOK_XDP", inc,
		       "-I/usr/include/x86_64-linux-gnu", "-Wall", "-Wno-unused-function", "-Wno-unused-label", "-c",
		       c, "-o", o, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		FILE *f = fopen(e, "r");
		char line[512];

		snprintf(err, errlen, "clang failed");
		while (f && fgets(line, sizeof(line), f))
			if (strstr(line, "error")) {
				line[strcspn(line, "\n")] = '\0';
				snprintf(err, errlen, "clang: %s", line);
				break;
			}
		if (f)
			fclose(f);
		rc = -EINVAL;
		goto out;
	}
	fd = open(o, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		rc = -errno;
		goto out;
	}
	buf = malloc((size_t)sb.st_size);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	if (read(fd, buf, (size_t)sb.st_size) != sb.st_size) {
		rc = -EIO;
		goto out;
	}
	*bytes = buf;
	*size = (size_t)sb.st_size;
	buf = NULL;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	unlink(c);
	unlink(o);
	unlink(e);
	rmdir(dir);
	return rc;
}
