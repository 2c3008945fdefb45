/* The on-disk layout's paths, built from checked components (pcn_layout.h). */
#include "pcn_layout.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

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
