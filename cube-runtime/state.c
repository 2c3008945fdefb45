/* Operational state: the state handlers fill a tree, printed as JSON. */
#include "pcn_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pcn_state_set(struct pcn_state *st, const char *path, const char *fmt, ...)
{
	char buf[256], *value = buf;
	va_list ap;
	int n, rc = 0;

	if (!st || !path || !fmt)
		return -EINVAL;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	/* A long value (a text leaf: dynmon's open-metrics) on the heap. */
	if ((size_t)n >= sizeof(buf)) {
		value = malloc((size_t)n + 1);
		if (!value)
			return -ENOMEM;
		va_start(ap, fmt);
		vsnprintf(value, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	if (lyd_new_path(st->entry, NULL, path, value, LYD_NEW_PATH_UPDATE, NULL) != LY_SUCCESS) {
		PCN_WARN("CUBE-STATE-BAD", "cannot set state %s = %s: %s", path, value,
			 ly_errmsg(LYD_CTX(st->entry)) ? ly_errmsg(LYD_CTX(st->entry)) : "?");
		/* Remembered so the read fails visibly instead of losing a leaf. */
		st->err = -EINVAL;
		rc = -EINVAL;
	}
	if (value != buf)
		free(value);
	return rc;
}

/* "stats" is wanted by handler "/helloworld:helloworld/stats" and by
 * "/helloworld:helloworld/stats/forwarded"; so is "" and "stats/x". */
static bool wanted(const char *handler_path, const char *want)
{
	const char *rel = handler_path;
	size_t n;

	if (!want || !want[0])
		return true;
	while (*want == '/')
		want++;
	/* Skip "/<module>:<list>" to the path below the instance. */
	if (*rel == '/')
		rel++;
	rel = strchr(rel, '/');
	rel = rel ? rel + 1 : "";
	n = strlen(rel) < strlen(want) ? strlen(rel) : strlen(want);
	return strncmp(rel, want, n) == 0;
}

int pcn__state_read(struct pcn_instance *inst, const char *path, char **json)
{
	const struct pcn_cube_desc *desc = inst->rt->desc;
	struct pcn_state st = { 0 };
	struct lyd_node *root = NULL;
	const struct pcn_state_handler *h;
	char top[PCN__NAME_MAX * 2 + 64];
	char *out = NULL;
	int rc;

	snprintf(top, sizeof(top), "/%s:%s[name='%s']", desc->yang_module_name,
		 desc->yang_module_name, inst->name);
	if (lyd_new_path(NULL, inst->rt->ly, top, NULL, 0, &root) != LY_SUCCESS) {
		snprintf(inst->err_msg, sizeof(inst->err_msg), "cannot build the state tree: %s",
			 ly_errmsg(inst->rt->ly) ? ly_errmsg(inst->rt->ly) : "?");
		return -EINVAL;
	}
	st.entry = root;
	for (h = desc->state; h && h->path; h++) {
		if (!wanted(h->path, path))
			continue;
		inst->err_msg[0] = '\0';
		rc = h->cb(inst, &st);
		if (rc)
			goto out;
		if (st.err) {
			rc = st.err;
			goto out;
		}
	}
	if (lyd_print_mem(&out, root, LYD_JSON, LYD_PRINT_WITHSIBLINGS | LYD_PRINT_SHRINK) != LY_SUCCESS) {
		rc = -ENOMEM;
		goto out;
	}
	*json = out;
	rc = 0;
out:
	lyd_free_all(root);
	return rc;
}
