/* The on-disk layout's paths, built from checked components (pcn_layout.h). */
#include "pcn_layout.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

static bool safe_char(char c, bool dot_ok)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
	       c == '-' || (dot_ok && c == '.');
}

int pcn_name_check(const char *name)
{
	size_t n;

	if (!name)
		return -EINVAL;
	n = strnlen(name, PCN_NAME_MAX);
	if (n == 0 || n >= PCN_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!safe_char(name[i], false))
			return -EINVAL;
	return 0;
}

int pcn_component_check(const char *c)
{
	size_t n;

	if (!c)
		return -EINVAL;
	n = strnlen(c, PCN_COMPONENT_MAX + 1);
	if (n == 0 || n > PCN_COMPONENT_MAX)
		return -EINVAL;
	if (strcmp(c, ".") == 0 || strcmp(c, "..") == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!safe_char(c[i], true))
			return -EINVAL;
	return 0;
}

/* Appends s (n bytes) at *o; false when it does not fit with the NUL. */
static bool put(char *buf, size_t len, size_t *o, const char *s, size_t n)
{
	if (n >= len - *o)
		return false;
	memcpy(buf + *o, s, n);
	*o += n;
	buf[*o] = '\0';
	return true;
}

int pcn_vpath(char *buf, size_t len, const char *root, va_list ap)
{
	const char *c;
	size_t o = 0;
	int rc = 0;

	if (!buf || !len)
		return -ENAMETOOLONG;
	buf[0] = '\0';
	if (root && root[0] && !put(buf, len, &o, root, strlen(root)))
		rc = -ENAMETOOLONG;
	while ((c = va_arg(ap, const char *))) {
		if (pcn_component_check(c)) {
			rc = -EINVAL; /* refused, whatever the length says */
			break;
		}
		if (rc)
			continue;
		if ((o && !put(buf, len, &o, "/", 1)) || !put(buf, len, &o, c, strlen(c)))
			rc = -ENAMETOOLONG;
	}
	if (rc)
		buf[0] = '\0';
	return rc;
}

int pcn_path(char *buf, size_t len, const char *root, ...)
{
	va_list ap;
	int rc;

	va_start(ap, root);
	rc = pcn_vpath(buf, len, root, ap);
	va_end(ap);
	return rc;
}

int pcn_layout_cube(char *buf, size_t len, const char *root, const char *service, const char *name,
		    const char *pin)
{
	if (pcn_name_check(service) || pcn_name_check(name)) {
		if (buf && len)
			buf[0] = '\0';
		return -EINVAL;
	}
	return pcn_path(buf, len, root, PCN_LAYOUT_CUBES, service, name, pin, (const char *)NULL);
}

int pcn_layout_shared(char *buf, size_t len, const char *root, const char *pin)
{
	return pcn_path(buf, len, root, PCN_LAYOUT_SHARED, pin, (const char *)NULL);
}

int pcn_layout_record(char *buf, size_t len, const char *service, const char *name, const char *suffix)
{
	size_t o = 0;

	if (buf && len)
		buf[0] = '\0';
	if (pcn_component_check(service) || pcn_component_check(name) || strlen(service) >= PCN_NAME_MAX ||
	    strlen(name) >= PCN_NAME_MAX)
		return -EINVAL;
	if (!buf || !len || !put(buf, len, &o, service, strlen(service)) || !put(buf, len, &o, "@", 1) ||
	    !put(buf, len, &o, name, strlen(name)) || !put(buf, len, &o, ".json", 5) ||
	    (suffix && !put(buf, len, &o, suffix, strlen(suffix)))) {
		if (buf && len)
			buf[0] = '\0';
		return -ENAMETOOLONG;
	}
	return 0;
}

int pcn_sock_cube(char *buf, size_t len, enum pcn_sock_kind kind, const char *service, int pid)
{
	int n;

	switch (kind) {
	case PCN_SOCK_CUBE_PKT: n = snprintf(buf, len, "cube-%s-pkt.sock", service); break;
	case PCN_SOCK_CUBE_PID: n = snprintf(buf, len, "cube-%s-%d.sock", service, pid); break;
	default: n = snprintf(buf, len, "cube-%s.sock", service); break;
	}
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int pcn_sock_stream(char *buf, size_t len, const char *endpoint_url)
{
	static const char scheme[] = "ipc://", ext[] = ".sock";
	size_t sl = sizeof(scheme) - 1, el = sizeof(ext) - 1, n;
	const char *base;
	int w;

	if (len)
		buf[0] = '\0';
	if (!endpoint_url || strncmp(endpoint_url, scheme, sl) != 0)
		return -EINVAL;
	endpoint_url += sl;
	n = strlen(endpoint_url);
	base = strrchr(endpoint_url, '/');
	if (!base || n <= el || strcmp(endpoint_url + n - el, ext) != 0 ||
	    strncmp(base + 1, "cube-", 5) != 0)
		return -EINVAL;
	w = snprintf(buf, len, "%.*s.stream", (int)(n - el), endpoint_url);
	if (w < 0 || (size_t)w >= len || (size_t)w >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		if (len)
			buf[0] = '\0';
		return -ENAMETOOLONG;
	}
	return 0;
}

static const char *const hook_names[PCN_HOOK_COUNT] = { "TC", "XDP_SKB", "XDP_DRV" };

const char *pcn_hook_name(enum pcn_hook hook)
{
	return (unsigned)hook < PCN_HOOK_COUNT ? hook_names[hook] : "?";
}

int pcn_hook_parse(const char *name, enum pcn_hook *out)
{
	for (int h = 0; name && h < PCN_HOOK_COUNT; h++)
		if (strcasecmp(name, hook_names[h]) == 0) {
			*out = (enum pcn_hook)h;
			return 0;
		}
	return -EINVAL;
}

int pcn_peer_split(const char *peer, char *cube, size_t cube_len, char *port, size_t port_len)
{
	const char *colon = strchr(peer, ':');
	size_t cl, pl;

	if (!colon)
		return peer[0] ? 0 : -EINVAL;
	cl = (size_t)(colon - peer);
	pl = strlen(colon + 1);
	if (cl == 0 || pl == 0 || strchr(colon + 1, ':') || cl >= PCN_NAME_MAX || pl >= PCN_NAME_MAX ||
	    cl >= cube_len || pl >= port_len)
		return -EINVAL;
	memcpy(cube, peer, cl);
	cube[cl] = '\0';
	memcpy(port, colon + 1, pl + 1);
	return 1;
}

static const struct {
	int rc;
	int status;
} errno_http[] = {
	{ -EINVAL, 400 }, { -ENOENT, 404 }, { -EEXIST, 409 }, { -EBUSY, 409 }, { -E2BIG, 413 },
	{ -EPROTO, 422 }, { -EAGAIN, 503 }, { -ENOSPC, 507 },
};

int pcn_errno_http(int rc)
{
	for (size_t i = 0; i < sizeof(errno_http) / sizeof(errno_http[0]); i++)
		if (errno_http[i].rc == rc)
			return errno_http[i].status;
	return 500;
}

int pcn_http_errno(int status)
{
	/* 405 has no errno of its own in the table above: a cube's
	 * -EOPNOTSUPP is a failure of the cube (500), not a wrong method. */
	if (status == 405)
		return -EOPNOTSUPP;
	for (size_t i = 0; i < sizeof(errno_http) / sizeof(errno_http[0]); i++)
		if (errno_http[i].status == status)
			return errno_http[i].rc;
	return -EIO;
}

const char *pcn_http_tag(int status)
{
	switch (status) {
	case 400: return "invalid-value";
	case 404: return "data-missing";
	case 409: return "data-exists";
	case 507: return "resource-denied";
	default: return "operation-failed";
	}
}
