/* Compiling a user's code with clang, in Polycube's dialect, and getting
 * readable complaints from clang (the verifier's: pcn_reload_error). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "dynmon_compat_h.h"
#include "dynmon_entry_h.h"
#include "dynmon_int.h"

/* Where the framework's headers are (pcn_transparent.h, ...): the copy made
 * with this build, as pcn_reload's compiler uses. */
#ifndef PCN_BPF_INCLUDE_DIR
#define PCN_BPF_INCLUDE_DIR "/usr/include/cubemesh/bpf"
#endif
/* clang gets this long, then is killed: the code is the user's, and the
 * broker waits 10 s for the whole round (both paths, each compiled for
 * two hooks at once; an ordinary probe takes 0.1 to 0.5 s). */
#define DM_CC_TIMEOUT_MS 4000

static int write_file(const char *dir, const char *name, const char *text, size_t len)
{
	char path[512];
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		rc = -EIO;
	close(fd);
	return rc;
}

/* Polycube's pcn_log takes %I (an IPv4 address), %P (a port) and %M (a MAC)
 * and h/hh length modifiers, which bpf_snprintf refuses (the verifier
 * would, once the line's level is enabled): inside string literals they
 * become %x, %u, %llx and nothing. Comments and character literals are
 * left alone. Returns a malloc'd copy. */
static char *rewrite_formats(const char *src)
{
	size_t n = strlen(src);
	char *out = malloc(n * 2 + 1), *o = out;
	enum { CODE, STR, CHR, LINE_C, BLOCK_C } st = CODE;

	if (!out)
		return NULL;
	for (const char *p = src; *p; p++) {
		switch (st) {
		case CODE:
			if (p[0] == '"')
				st = STR;
			else if (p[0] == '\'')
				st = CHR;
			else if (p[0] == '/' && p[1] == '/')
				st = LINE_C;
			else if (p[0] == '/' && p[1] == '*')
				st = BLOCK_C;
			break;
		case STR:
			if (p[0] == '\\' && p[1]) {
				*o++ = *p++;
			} else if (p[0] == '"') {
				st = CODE;
			} else if (p[0] == '%' && p[1] == '%') {
				*o++ = *p++;
			} else if (p[0] == '%') {
				const char *q = p + 1;

				while (*q == 'h')
					q++;
				if (*q == 'I' || *q == 'P' || *q == 'M' || q != p + 1) {
					const char *rep = *q == 'I' ? "%x" : *q == 'P' ? "%u" : *q == 'M' ? "%llx" : "%";

					memcpy(o, rep, strlen(rep));
					o += strlen(rep);
					p = (*q == 'I' || *q == 'P' || *q == 'M') ? q : q - 1;
					continue;
				}
			}
			break;
		case CHR:
			if (p[0] == '\\' && p[1])
				*o++ = *p++;
			else if (p[0] == '\'')
				st = CODE;
			break;
		case LINE_C:
			if (p[0] == '\n')
				st = CODE;
			break;
		case BLOCK_C:
			if (p[0] == '*' && p[1] == '/') {
				*o++ = *p++;
				st = CODE;
			}
			break;
		}
		*o++ = *p;
	}
	*o = '\0';
	return out;
}

/* The code may include system headers only: an #include whose file is
 * an absolute path, climbs with "..", or is named by a macro is refused,
 * so that clang's messages (which quote what they choke on) never show a
 * file of the host to whoever may write the API. -EINVAL with why in err. */
static int check_includes(const char *code, const char *what, char *err, size_t errlen)
{
	int lineno = 1;

	for (const char *p = code; *p; lineno++) {
		const char *end = strchr(p, '\n'), *q = p;
		size_t len = end ? (size_t)(end - p) : strlen(p);

		while (q < p + len && (*q == ' ' || *q == '\t'))
			q++;
		if (q < p + len && *q == '#') {
			q++;
			while (q < p + len && (*q == ' ' || *q == '\t'))
				q++;
			if ((size_t)(p + len - q) >= 6 && (!strncmp(q, "include", 7) || !strncmp(q, "import", 6))) {
				const char *f = q + strcspn(q, " \t<\"");
				char close;

				while (f < p + len && (*f == ' ' || *f == '\t'))
					f++;
				close = f < p + len && *f == '<' ? '>' : f < p + len && *f == '"' ? '"' : 0;
				if (!close || f[1] == '/' || memmem(f, (size_t)(p + len - f), "..", 2) ||
				    !memchr(f + 1, close, (size_t)(p + len - f - 1))) {
					snprintf(err, errlen,
						 "%s:%d: only system headers may be included (#include <linux/ip.h>, "
						 "<uapi/linux/udp.h>): not an absolute path, \"..\" or a macro",
						 what, lineno);
					return -EINVAL;
				}
			}
		}
		p = end ? end + 1 : p + len;
	}
	return 0;
}

/* clang's complaint: each "error:" line of the user's code and the source
 * line under it, cut to fit. Errors inside included files are counted,
 * not quoted. */
static void clang_msg(const char *log, const char *what, char *err, size_t errlen)
{
	size_t used = (size_t)snprintf(err, errlen, "clang refused the %s code:", what), wl = strlen(what);
	const char *line = log;
	int want_src = 0, n_err = 0, n_other = 0;
	char at[64] = ""; /* where the user's code included the file that failed */

	while (line && *line && used + 8 < errlen) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		const char *e = strstr(line, "error:");

		if (!strncmp(line, "In file included from ", 22) && !strncmp(line + 22, what, wl) && len > 22) {
			snprintf(at, sizeof(at), "%.*s", (int)(len - 22), line + 22);
			if (at[0] && at[strlen(at) - 1] == ':')
				at[strlen(at) - 1] = '\0';
		}
		if (e && (size_t)(e - line) < len && (strncmp(line, what, wl) != 0 || line[wl] != ':')) {
			n_other++;
			want_src = 0;
		} else if (e && (size_t)(e - line) < len) {
			used += (size_t)snprintf(err + used, errlen - used, "%s %.*s", n_err ? ";" : "", (int)len, line);
			want_src = 1;
			n_err++;
		} else if (want_src) {
			const char *s = line;

			while (s < line + len && (*s == ' ' || *s == '\t'))
				s++;
			if (s < line + len)
				used += (size_t)snprintf(err + used, errlen - used, " [%.*s]", (int)(line + len - s), s);
			want_src = 0;
		}
		line = end ? end + 1 : NULL;
	}
	if (n_other && used + 8 < errlen)
		used += (size_t)snprintf(err + used, errlen - used, "%s %d error(s) in included files%s%s",
					 n_err ? ";" : "", n_other, at[0] ? " (included at " : "", at[0] ? at : "");
	if (n_other && at[0] && used + 2 < errlen)
		used += (size_t)snprintf(err + used, errlen - used, ")");
	if (!n_err && !n_other)
		snprintf(err + used, errlen - used, " (no message)");
	if (used >= errlen - 1 && errlen > 4)
		memcpy(err + errlen - 4, "...", 4);
}

static int run_clang(char *const argv[], const char *logpath)
{
	struct timespec t0, now;
	int status, fd;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 2);
			dup2(fd, 1);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return -errno;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 > DM_CC_TIMEOUT_MS) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -ETIMEDOUT;
		}
		usleep(5000);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return -ENOENT;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EINVAL;
}

static char *read_all(const char *path, size_t *len)
{
	struct stat sb;
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) == 0 && (buf = malloc((size_t)sb.st_size + 1))) {
		ssize_t r = read(fd, buf, (size_t)sb.st_size);

		if (r < 0)
			r = 0;
		buf[r] = '\0';
		*len = (size_t)r;
	}
	close(fd);
	return buf;
}

static void rm_tree(const char *dir)
{
	static const char *const files[] = { "code.bpf.c", "code.bpf.o", "clang.log", "dynmon_compat.h",
					     "dynmon_entry.h", "inc/uapi", "inc/bcc/proto.h", "inc/bcc/helpers.h",
					     "inc/bcc", "inc" };
	char path[512];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (unlink(path) && errno == EISDIR)
			rmdir(path);
		rmdir(path);
	}
	rmdir(dir);
}

int dm_compile(enum dm_dir dir, bool tc, const char *code, void **obj, size_t *len, char *err, size_t errlen)
{
	const char *what = dir == DM_EGRESS ? "egress-path" : "ingress-path";
	char tmp[] = "/tmp/pcn-dynmon.XXXXXX", path[512], src[512], out[512], logp[512], inc[600], tinc[600];
	const char *incdir = getenv("PCN_BPF_INCLUDE_DIR");
	char *user = NULL, *text = NULL, *log = NULL;
	size_t tlen, loglen = 0;
	int rc;

	err[0] = '\0';
	rc = check_includes(code, what, err, errlen);
	if (rc)
		return rc;
	if (!mkdtemp(tmp))
		return -errno;
	/* The dialect's headers, and bcc's include paths (<uapi/linux/ip.h>,
	 * <bcc/proto.h>) mapped onto the system's. */
	rc = write_file(tmp, "dynmon_compat.h", dynmon_compat_h, dynmon_compat_h_len);
	if (!rc)
		rc = write_file(tmp, "dynmon_entry.h", dynmon_entry_h, dynmon_entry_h_len);
	snprintf(path, sizeof(path), "%s/inc", tmp);
	if (!rc && mkdir(path, 0700))
		rc = -errno;
	snprintf(path, sizeof(path), "%s/inc/bcc", tmp);
	if (!rc && mkdir(path, 0700))
		rc = -errno;
	snprintf(path, sizeof(path), "%s/inc/uapi", tmp);
	if (!rc && symlink("/usr/include", path))
		rc = -errno;
	if (!rc)
		rc = write_file(tmp, "inc/bcc/proto.h", "", 0);
	if (!rc)
		rc = write_file(tmp, "inc/bcc/helpers.h", "", 0);
	if (rc)
		goto out;
	user = rewrite_formats(code);
	if (!user) {
		rc = -ENOMEM;
		goto out;
	}
	tlen = strlen(user) + 256;
	text = malloc(tlen);
	if (!text) {
		rc = -ENOMEM;
		goto out;
	}
	/* #line: clang's messages name the path and the user's own lines. */
	tlen = (size_t)snprintf(text, tlen,
				"#include \"dynmon_compat.h\"\n#line 1 \"%s\"\n%s\n#line 1 \"dynmon\"\n"
				"DYNMON_PROGRAM(handle_rx)\n",
				what, user);
	rc = write_file(tmp, "code.bpf.c", text, tlen);
	if (rc)
		goto out;
	snprintf(src, sizeof(src), "%s/code.bpf.c", tmp);
	snprintf(out, sizeof(out), "%s/code.bpf.o", tmp);
	snprintf(logp, sizeof(logp), "%s/clang.log", tmp);
	snprintf(inc, sizeof(inc), "-I%s", incdir && incdir[0] ? incdir : PCN_BPF_INCLUDE_DIR);
	snprintf(tinc, sizeof(tinc), "-I%s/inc", tmp);
	{
		char *argv[] = { "clang", "-O2", "-g", "-target", "bpf", "-D__BPF__",
				 tc ? "-DPCN_HOOK_TC" : "-DPCN_HOOK_XDP",
				 dir == DM_EGRESS ? "-DDYNMON_EGRESS" : "-DDYNMON_INGRESS",
				 inc, tinc, "-I/usr/include/x86_64-linux-gnu", "-Wall", "-Wno-unused-function",
				 "-Wno-unused-variable", "-fno-color-diagnostics", "-ferror-limit=4",
				 "-c", src, "-o", out, NULL };

		rc = run_clang(argv, logp);
	}
	if (rc == -ENOENT || rc == -ETIMEDOUT) {
		snprintf(err, errlen, "cannot compile the %s code: %s", what,
			 rc == -ENOENT ? "clang is not installed" : "clang took too long");
		rc = rc == -ENOENT ? -ENOENT : -EINVAL;
		goto out;
	}
	if (rc) {
		log = read_all(logp, &loglen);
		/* The user's file name, not ours, in what it says. */
		clang_msg(log ? log : "", what, err, errlen);
		goto out;
	}
	*obj = read_all(out, len);
	if (!*obj)
		rc = -EIO;
out:
	free(user);
	free(text);
	free(log);
	rm_tree(tmp);
	return rc;
}

int dm_object_maps(const void *obj, size_t len, struct dm_map *maps, size_t max, size_t *n)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "dynmon_maps");
	struct bpf_object *o = bpf_object__open_mem(obj, len, &oo);
	struct bpf_map *m;

	*n = 0;
	if (!o)
		return -errno;
	bpf_object__for_each_map(m, o) {
		const char *name = bpf_map__name(m), *bare;
		struct dm_map *d;

		if (bpf_map__is_internal(m))
			continue;
		if (!strncmp(name, "dmi_", 4) || !strncmp(name, "dme_", 4))
			bare = name + 4;
		else if (!strncmp(name, "dm_", 3))
			bare = name + 3;
		else
			continue; /* the framework's */
		if (*n == max)
			break;
		d = &maps[(*n)++];
		memset(d, 0, sizeof(*d));
		snprintf(d->name, sizeof(d->name), "%s", bare);
		snprintf(d->obj_name, sizeof(d->obj_name), "%s", name);
		d->fd = -1;
		d->type = bpf_map__type(m);
		d->key_size = bpf_map__key_size(m);
		d->value_size = bpf_map__value_size(m);
		d->max_entries = bpf_map__max_entries(m);
		d->flags = bpf_map__map_flags(m);
	}
	bpf_object__close(o);
	return 0;
}
