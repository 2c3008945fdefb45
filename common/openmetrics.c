/* OpenMetrics names, escapes and numbers (openmetrics.h). */
#include "openmetrics.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool name_char(char c, bool first, bool colon)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':'))
		return true;
	return !first && c >= '0' && c <= '9';
}

bool pcn_om_name_ok(const char *s)
{
	size_t i;

	if (!s || !s[0])
		return false;
	for (i = 0; s[i]; i++)
		if (i >= PCN_OM_NAME_MAX || !name_char(s[i], i == 0, true))
			return false;
	return true;
}

bool pcn_om_label_ok(const char *s)
{
	size_t i;

	if (!s || !s[0] || (s[0] == '_' && s[1] == '_'))
		return false;
	for (i = 0; s[i]; i++)
		if (i >= PCN_OM_NAME_MAX || !name_char(s[i], i == 0, false))
			return false;
	return true;
}

bool pcn_om_utf8_ok(const char *str, size_t max)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	if (!s)
		return false;
	while (s[i]) {
		unsigned char c = s[i];
		uint32_t cp;
		size_t n;

		if (i >= max)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false; /* also stops at the NUL */
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return i <= max;
}

void pcn_om_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

void pcn_om_value(FILE *f, double v)
{
	char buf[40];

	if (isnan(v)) {
		fputs("NaN", f);
		return;
	}
	if (isinf(v)) {
		fputs(v > 0 ? "+Inf" : "-Inf", f);
		return;
	}
	/* Counters are mostly integers: print them as such below 2^53,
	 * where a double holds every integer. */
	if (v == floor(v) && fabs(v) < 9007199254740992.0) {
		fprintf(f, "%.0f", v);
		return;
	}
	snprintf(buf, sizeof(buf), "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof(buf), "%.17g", v);
	fputs(buf, f);
}
