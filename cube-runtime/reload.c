/* Reloading an instance's fast path at run time (§IV-B, §VI-E): from a
 * precompiled object or from C source compiled with clang, keeping the
 * instance's maps, swapping each program in one atomic map update (make
 * before break).
 * Owns: inst->reload (the object before the last reload, the entry's
 * code). Calls: the loader (fastpath.c, ucube.c), twin.c, baked.c's load
 * hook (handed to the loader), the broker (ProgramInstall). Serving thread
 * only. */
#include "pcn_int.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cubemesh.pb-c.h"
#include "ipc.h"

#define RELOAD_LOG_SIZE ((size_t)64 * 1024)
/* How much of clang's stderr is read back for pcn_reload_error. */
#define CLANG_LOG_SIZE ((size_t)16 * 1024)
/* How long the broker may take to swap the PatchPanel slot. */
#define INSTALL_TIMEOUT_MS 3000
/* Headers a run-time source includes (pcn.h, pcn_ucube.h, ...). */
#ifndef PCN_BPF_INCLUDE_DIR
#define PCN_BPF_INCLUDE_DIR "/usr/include/cubemesh/bpf"
#endif

/* ---- why a reload failed (pcn_reload_error) ------------------------------- */

static void set_err(struct pcn_instance *inst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_err(struct pcn_instance *inst, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(inst->reload.err, sizeof(inst->reload.err), fmt, ap);
	va_end(ap);
}

/* clang's diagnostics, made short: the "error:" lines (and the source line
 * each quotes), the temporary directory's path cut from file names, the
 * warnings and the caret lines dropped. log is modified. */
static void clang_msg(char *log, const char *dir, char *out, size_t len)
{
	char *line, *save = NULL;
	size_t n = 0, dl = strlen(dir);
	bool quote = false;

	out[0] = '\0';
	for (line = strtok_r(log, "\n", &save); line && n + 1 < len; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, dir, dl) == 0 && line[dl] == '/')
			line += dl + 1;
		if (strstr(line, "error: ")) {
			quote = true;
		} else if (!quote || strchr(line, '^') || strstr(line, ": note: ") || strstr(line, ": warning: ")) {
			quote = false;
			continue;
		} else {
			quote = false; /* the source line an error quotes */
		}
		while (*line == ' ')
			line++;
		n += (size_t)snprintf(out + n, len - n, "%s%s", n ? "; " : "", line);
	}
	if (n >= len && len > 4)
		memcpy(out + len - 4, "...", 4);
}

/* ---- code ---------------------------------------------------------------- */

/* Compiles C source with clang for TC (tc) or XDP into a temporary object,
 * read back into *bytes (malloc'd). */
static int compile_source(struct pcn_instance *inst, bool tc, const char *src, size_t len, void **bytes,
			  size_t *size)
{
	char dir[] = "/tmp/pcn-reload.XXXXXX", cpath[64], opath[64], lpath[64], inc[PATH_MAX + 2], *log;
	const char *incdir = getenv("PCN_BPF_INCLUDE_DIR");
	struct stat sb;
	void *buf = NULL;
	int fd = -1, rc = 0, status;
	pid_t pid;

	if (!mkdtemp(dir))
		return -errno;
	snprintf(cpath, sizeof(cpath), "%s/code.bpf.c", dir);
	snprintf(opath, sizeof(opath), "%s/code.bpf.o", dir);
	snprintf(lpath, sizeof(lpath), "%s/clang.log", dir);
	snprintf(inc, sizeof(inc), "-I%s", incdir && incdir[0] ? incdir : PCN_BPF_INCLUDE_DIR);
	fd = open(cpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
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
		int lfd = open(lpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		/* Its complaints, for pcn_reload_error. */
		if (lfd >= 0)
			dup2(lfd, STDERR_FILENO);
		/* The same flags as the build (cmake/bpf.cmake). */
		execlp("clang", "clang", "-O2", "-g", "-target", "bpf",
		       tc ? "-DPCN_HOOK_TC" : "-DPCN_HOOK_XDP", inc,
		       "-I/usr/include/x86_64-linux-gnu", "-Wall", "-Wno-unused-function", "-fno-color-diagnostics",
		       "-ferror-limit=4", "-c", cpath, "-o", opath, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char msg[PCN__RELOAD_ERR_MAX - 32] = "";

		if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
			snprintf(msg, sizeof(msg), "clang is not installed");
		} else if ((log = calloc(1, CLANG_LOG_SIZE)) != NULL) {
			int lfd = open(lpath, O_RDONLY | O_CLOEXEC);
			ssize_t got = lfd >= 0 ? read(lfd, log, CLANG_LOG_SIZE - 1) : -1;

			if (got > 0)
				clang_msg(log, dir, msg, sizeof(msg));
			if (lfd >= 0)
				close(lfd);
			free(log);
		}
		set_err(inst, "clang refused the code: %s", msg[0] ? msg : "(no message)");
		PCN_ERR("CUBE-RELOAD-CC", "instance %s: clang could not compile the new fast path: %s", inst->name,
			msg[0] ? msg : "(no message)");
		rc = -EINVAL;
		goto out;
	}
	fd = open(opath, O_RDONLY);
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
	unlink(cpath);
	unlink(opath);
	unlink(lpath);
	rmdir(dir);
	return rc;
}

/* ---- the PatchPanel slot -------------------------------------------------- */

/* Asks the broker, the PatchPanel's only writer, to put the program pinned
 * at pin into the instance's slot (of the TC PatchPanel for its twin). On a
 * context of its own: the register thread may use the socket's default
 * one. */
static int broker_install(struct pcn_instance *inst, const char *pin, bool twin)
{
	Cubemesh__BrokerRequest req = CUBEMESH__BROKER_REQUEST__INIT;
	Cubemesh__ProgramInstall pi = CUBEMESH__PROGRAM_INSTALL__INIT;
	Cubemesh__BrokerReply *rep = NULL;
	uint8_t token[PCN__TOKEN_MAX];
	nng_aio *aio = NULL;
	nng_msg *msg = NULL;
	nng_ctx ctx;
	int rc;

	pi.instance = inst->name;
	pi.hook = twin || inst->attach == PCN_HOOK_TC ? CUBEMESH__HOOK__HOOK_TC
		  : inst->attach == PCN_HOOK_XDP_SKB ? CUBEMESH__HOOK__HOOK_XDP_SKB
						       : CUBEMESH__HOOK__HOOK_XDP_DRV;
	pi.pin_path = (char *)pin;
	/* The broker installs only for the service that registered. */
	pi.token.data = token;
	pi.token.len = pcn__slowpath_token(inst->rt, token);
	pi.has_token = pi.token.len > 0;
	req.body_case = CUBEMESH__BROKER_REQUEST__BODY_PROGRAM_INSTALL;
	req.program_install = &pi;
	rc = pcn_ipc_errno(nng_ctx_open(&ctx, inst->rt->req));
	if (rc)
		return rc;
	/* nng 1.5 has no nng_ctx_sendmsg: one aio, waited on, each way. */
	rc = pcn_ipc_errno(nng_aio_alloc(&aio, NULL, NULL));
	if (rc)
		goto out;
	nng_aio_set_timeout(aio, INSTALL_TIMEOUT_MS);
	rc = pcn_ipc_pack(&req.base, &msg);
	if (rc)
		goto out;
	nng_aio_set_msg(aio, msg);
	nng_ctx_send(ctx, aio);
	nng_aio_wait(aio);
	rc = pcn_ipc_errno(nng_aio_result(aio));
	if (rc) {
		nng_msg_free(msg);
		goto out;
	}
	nng_ctx_recv(ctx, aio);
	nng_aio_wait(aio);
	rc = pcn_ipc_errno(nng_aio_result(aio));
	if (rc)
		goto out;
	msg = nng_aio_get_msg(aio);
	rc = pcn_ipc_unpack(&cubemesh__broker_reply__descriptor, nng_msg_body(msg), nng_msg_len(msg),
			     (ProtobufCMessage **)&rep);
	nng_msg_free(msg);
	if (rc)
		goto out;
	rc = rep->status->code;
	if (rc) {
		PCN_ERR("CUBE-RELOAD-INSTALL", "instance %s: the broker did not install %s: %s", inst->name, pin,
			pcn_ipc_status_text(rep->status));
		set_err(inst, "the broker did not install the new program: %.300s", pcn_ipc_status_text(rep->status));
	}
	protobuf_c_message_free_unpacked(&rep->base, NULL);
out:
	if (aio)
		nng_aio_free(aio);
	nng_ctx_close(ctx);
	if (rc && !inst->reload.err[0])
		set_err(inst, "the broker did not install the new program: %s", strerror(-rc));
	return rc;
}

/* ---- the TC twin (twin.c) ------------------------------------------------ */

/* Why the loader refused code (what: which build): the verifier's
 * complaint from its log (modified), else the errno. */
static void load_err(struct pcn_instance *inst, const char *what, int rc, char *log)
{
	char c[PCN__RELOAD_ERR_MAX - 64];

	if (log && log[0]) {
		pcn__verifier_complaint(log, c, sizeof(c));
		set_err(inst, "the kernel verifier refused %s: %s", what, c);
	} else {
		set_err(inst, "%s does not load: %s", what, strerror(-rc));
	}
}

/* Loads the TC build of code for the instance's twin with the instance's
 * constants and pinned maps (o; its own micro-cube arrays), into *out,
 * swapping nothing yet. */
static int twin_prepare(struct pcn_instance *inst, const struct pcn_code *code, const struct pcn__load_opts *o,
			void **compiled, struct bpf_object **out)
{
	struct pcn__load_opts to = *o;
	const void *bytes = code->tc_data;
	size_t size = code->tc_len;
	int rc;

	if (code->kind == PCN_CODE_SOURCE) {
		rc = compile_source(inst, true, code->data, code->len, compiled, &size);
		if (rc)
			return rc;
		bytes = *compiled;
	} else if (!bytes || !size) {
		PCN_ERR("CUBE-RELOAD-TWIN", "instance %s runs its egress at TC too: a reload from an object "
			"needs the TC build as well (pcn_code.tc_data)", inst->name);
		set_err(inst, "a reload from an object needs its TC build as well (pcn_code.tc_data)");
		return -EINVAL;
	}
	o->log_buf[0] = '\0';
	to.twin = true;
	rc = pcn__fastpath_load(out, bytes, size, &to);
	if (rc) {
		PCN_ERR("CUBE-RELOAD-LOAD", "instance %s: the new TC build (its egress at TC) does not load: %s",
			inst->name, o->log_buf[0] ? o->log_buf : strerror(-rc));
		load_err(inst, "its TC build (egress at TC)", rc, o->log_buf);
	}
	return rc;
}

/* Puts the twin's program (old: a reference to the program the pin named,
 * or -1) back at <pin_dir>/prog_tc and in the TC PatchPanel. */
static void twin_restore(struct pcn_instance *inst, int old)
{
	char pin[PATH_MAX + 8];

	if (old < 0)
		return;
	pcn_path(pin, sizeof(pin), inst->pin_dir, PCN_PIN_PROG_TC, (const char *)NULL);
	if ((unlink(pin) && errno != ENOENT) || bpf_obj_pin(old, pin) || broker_install(inst, pin, true))
		PCN_ERR("CUBE-RELOAD-TWIN", "instance %s: cannot put its TC build back", inst->name);
}

/* Swaps the twin to twin's program, make before break like the entry: the
 * old one serves until the broker's one map update. *old keeps a reference
 * to it for twin_restore (-1 if there was none). */
static int twin_swap(struct pcn_instance *inst, struct bpf_object *twin, int *old)
{
	char pin[PATH_MAX + 8];
	int rc;

	pcn_path(pin, sizeof(pin), inst->pin_dir, PCN_PIN_PROG_TC, (const char *)NULL);
	*old = bpf_obj_get(pin);
	rc = pcn__fastpath_pin_prog(twin, pin);
	if (!rc)
		rc = broker_install(inst, pin, true);
	if (rc && *old >= 0) {
		twin_restore(inst, *old);
		close(*old);
		*old = -1;
	}
	return rc;
}

/* ---- reload ----------------------------------------------------------------- */

void pcn__reload_forget(struct pcn_instance *inst)
{
	bpf_object__close(inst->reload.prev);
	free(inst->reload.entry_code);
	memset(&inst->reload, 0, sizeof(inst->reload));
}

/* Keeps a copy of the entry's new code, for the reloads the wiring needs
 * (baked_watch.c). */
static void keep_entry_code(struct pcn_instance *inst, const void *bytes, size_t len)
{
	void *copy;

	if (bytes == inst->reload.entry_code)
		return;
	copy = malloc(len);
	if (!copy)
		return; /* the next wiring reload uses the older code */
	memcpy(copy, bytes, len);
	free(inst->reload.entry_code);
	inst->reload.entry_code = copy;
	inst->reload.entry_len = len;
}

int pcn__reload(struct pcn_instance *inst, const struct pcn_code *code, int idx, bool keep_code)
{
	struct bpf_object *obj = NULL, *twin = NULL;
	void *compiled = NULL, *twin_compiled = NULL;
	const void *bytes;
	char bpffs[PATH_MAX], shared[PATH_MAX + 8], pin[PATH_MAX + 8], *log = NULL;
	size_t size;
	int rc, old_twin = -1;

	if (!inst)
		return -EINVAL;
	inst->reload.err[0] = '\0';
	if (!code || !code->data || !code->len || !inst->obj) {
		set_err(inst, "no code to load");
		return -EINVAL;
	}
	bytes = code->data;
	size = code->len;
	if (code->kind == PCN_CODE_SOURCE) {
		rc = compile_source(inst, inst->attach == PCN_HOOK_TC, code->data, code->len, &compiled, &size);
		if (rc)
			return rc;
		bytes = compiled;
	}
	rc = pcn__runtime_bpffs(inst->rt, bpffs, sizeof(bpffs), 0);
	if (!rc)
		rc = pcn_layout_shared(shared, sizeof(shared), bpffs, NULL);
	if (rc)
		goto out;
	log = malloc(RELOAD_LOG_SIZE);
	if (!log) {
		rc = -ENOMEM;
		goto out;
	}
	struct pcn__load_opts o = {
		.shared_pin_root = shared,
		.pin_dir = inst->pin_dir,
		.cube_index = inst->index,
		.log_level = (uint32_t)inst->loglevel,
		.object_name = inst->rt->desc->service,
		.log_buf = log,
		.log_size = RELOAD_LOG_SIZE,
		.prepare = pcn__baked_prepare,
	};
	/* The maps are pinned: the new object takes the very same ones, so
	 * whatever they hold stays, and the old programs keep running on them
	 * until each is swapped out below. */
	rc = pcn__fastpath_load(&obj, bytes, size, &o);
	if (rc) {
		PCN_ERR("CUBE-RELOAD-LOAD", "instance %s: the new fast path does not load: %s", inst->name,
			log[0] ? log : strerror(-rc));
		load_err(inst, "the new fast path", rc, log);
		goto out;
	}
	/* New code at XDP comes with its TC build (the egress pipeline at
	 * TC, twin.c), verified before anything is swapped as well: the
	 * twin's entry, or its micro-cube idx in its own arrays. */
	if (pcn__twin_wanted(inst)) {
		rc = twin_prepare(inst, code, &o, &twin_compiled, &twin);
		if (rc)
			goto out;
	}
	/* Micro-cubes first, the entry last: a packet entering the new entry
	 * finds new micro-cubes (and one still in the old entry finds either,
	 * both complete programs on the same maps). The twin's first, as its
	 * entry is swapped before the XDP one. */
	if (twin)
		rc = pcn__ucube_fill_slot(twin, idx < 0 ? -1 : idx);
	if (!rc)
		rc = pcn__ucube_fill_slot(obj, idx < 0 ? -1 : idx);
	if (rc)
		goto out;
	if (twin && idx <= 0) {
		rc = twin_swap(inst, twin, &old_twin);
		if (rc)
			goto out;
	}
	if (idx <= 0) {
		pcn_path(pin, sizeof(pin), inst->pin_dir, PCN_PIN_PROG, (const char *)NULL);
		rc = pcn__fastpath_pin_prog(obj, pin);
		if (!rc)
			rc = broker_install(inst, pin, false);
		if (rc) {
			/* Both directions stay on the same code. */
			twin_restore(inst, old_twin);
			goto out;
		}
	}
	/* The previous object is closed one reload later: a pcn_map_fd a
	 * caller still holds stays valid until then. Not the one apply.c
	 * loaded in the update round running now: it is apply.c's to close
	 * (or to keep) when the round ends. */
	if (inst->obj != inst->reload.held) {
		bpf_object__close(inst->reload.prev);
		inst->reload.prev = inst->obj;
	}
	inst->reload.count++;
	if (idx <= 0)
		inst->reload.entry_reloads++;
	inst->obj = obj;
	obj = NULL;
	if (idx <= 0 && keep_code)
		keep_entry_code(inst, bytes, size);
out:
	if (obj && idx <= 0 && rc) {
		/* The pin may name the new program already: point it back at
		 * the one in the PatchPanel. */
		pcn_path(pin, sizeof(pin), inst->pin_dir, PCN_PIN_PROG, (const char *)NULL);
		pcn__fastpath_pin_prog(inst->obj, pin);
	}
	bpf_object__close(obj);
	/* The twin's pin (and the TC PatchPanel) keeps its program, its
	 * arrays their micro-cubes. */
	bpf_object__close(twin);
	if (old_twin >= 0)
		close(old_twin);
	free(log);
	free(compiled);
	free(twin_compiled);
	if (rc && !inst->reload.err[0])
		set_err(inst, "%s", strerror(-rc));
	return rc;
}

/* A failure's reason for the REST client too, when a handler returns the
 * errno as it is (pcn_fail's message; a handler's own pcn_fail after this
 * replaces it). */
static int reload_failed(struct pcn_instance *inst, int rc)
{
	if (rc && inst && !inst->err_msg[0])
		snprintf(inst->err_msg, sizeof(inst->err_msg), "cannot reload the fast path: %.360s", inst->reload.err);
	return rc;
}

int pcn_reload(struct pcn_instance *inst, const struct pcn_code *code, int idx)
{
	if (idx < 0) {
		if (inst)
			set_err(inst, "no program %d", idx);
		return reload_failed(inst, -EINVAL);
	}
	return reload_failed(inst, pcn__reload(inst, code, idx, true));
}

int pcn_reload_all(struct pcn_instance *inst, const struct pcn_code *code)
{
	return reload_failed(inst, pcn__reload(inst, code, -1, true));
}

const char *pcn_reload_error(const struct pcn_instance *inst)
{
	return inst ? inst->reload.err : "";
}

uint64_t pcn_reload_count(const struct pcn_instance *inst)
{
	return inst ? inst->reload.count : 0;
}
