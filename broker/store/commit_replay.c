/* Replaying the group commit's journals when the datastore opens (the
 * other half of commit.c): each journal.<generation> left by a crash is
 * read, entries with a bad length or CRC end it (a torn tail was never
 * answered), the last entry of each record is written out where the file
 * differs, and the journals are removed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ds_int.h"
#include "log.h"

/* ---- replay at open ----------------------------------------------------- */

static int read_file(int dirfd, const char *name, char **text, size_t *len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	size_t n = 0;
	char *buf;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

static bool same_content(struct broker_datastore *ds, const char *fname, const char *text, size_t len)
{
	char *cur = NULL;
	size_t n = 0;
	bool same;

	if (read_file(ds->dirfd, fname, &cur, &n))
		return false;
	same = n == len && memcmp(cur, text, len) == 0;
	free(cur);
	return same;
}

/* One entry read back from a journal: only the last one of each record
 * file is applied (a storm leaves thousands for a few files). */
struct rentry {
	char fname[FNAME_LEN];
	size_t order;
	bool del;
	const char *text;
	size_t len;
};

struct replay {
	struct rentry *v;
	size_t n, cap;
	char **bufs; /* the journals' text, which the entries point into */
	size_t n_bufs;
};

static int rentry_cmp(const void *a, const void *b)
{
	const struct rentry *x = a, *y = b;
	int c = strcmp(x->fname, y->fname);

	return c ? c : x->order < y->order ? -1 : x->order > y->order;
}

/* Reads journal name's whole entries into rp. 0 or -errno. */
static int replay_read(struct broker_datastore *ds, const char *name, struct replay *rp)
{
	char *buf = NULL, **bufs;
	size_t len = 0, pos = 0, n = 0;
	int rc = read_file(ds->dirfd, name, &buf, &len);

	if (rc)
		return rc;
	bufs = realloc(rp->bufs, (rp->n_bufs + 1) * sizeof(*bufs));
	if (!bufs) {
		free(buf);
		return -ENOMEM;
	}
	rp->bufs = bufs;
	rp->bufs[rp->n_bufs++] = buf;
	while (pos < len) {
		char op, fname[FNAME_LEN], *nl = memchr(buf + pos, '\n', len - pos);
		unsigned long long plen;
		uint32_t crc;
		char *text;

		if (!nl)
			break;
		*nl = '\0';
		if (sscanf(buf + pos, "J1 %c %llu %8" SCNx32 " %159s", &op, &plen, &crc, fname) != 4 ||
		    (op != 'P' && op != 'D') || !ds_fname_valid(fname))
			break;
		text = nl + 1;
		if (plen > len - (size_t)(text - buf) - 1 || text[plen] != '\n' ||
		    ds_entry_crc(fname, text, (size_t)plen) != crc)
			break;
		if (rp->n == rp->cap) {
			struct rentry *grown = realloc(rp->v, (rp->cap = rp->cap ? 2 * rp->cap : 64) * sizeof(*grown));

			if (!grown)
				return -ENOMEM;
			rp->v = grown;
		}
		snprintf(rp->v[rp->n].fname, FNAME_LEN, "%s", fname);
		rp->v[rp->n].order = rp->n;
		rp->v[rp->n].del = op == 'D';
		rp->v[rp->n].text = text;
		rp->v[rp->n].len = (size_t)plen;
		rp->n++;
		n++;
		pos = (size_t)(text - buf) + (size_t)plen + 1;
	}
	if (pos < len)
		PCN_WARN("BROKER-DS-JOURNAL-TAIL", "%s/%s: %zu bytes after its last whole entry dropped (a write "
			 "cut by a crash, never acknowledged)", ds->dir, name, len - pos);
	if (n)
		PCN_INFO("BROKER-DS-REPLAY", "%s/%s: %zu writes to replay", ds->dir, name, n);
	return 0;
}

/* Applies the last entry of each record file (not synced). 0 or -errno. */
static int replay_apply(struct broker_datastore *ds, struct replay *rp)
{
	int rc = 0;

	if (rp->n)
		qsort(rp->v, rp->n, sizeof(*rp->v), rentry_cmp);
	for (size_t i = 0; i < rp->n && !rc; i++) {
		const struct rentry *e = &rp->v[i];

		if (i + 1 < rp->n && strcmp(rp->v[i + 1].fname, e->fname) == 0)
			continue; /* a later entry replaces it */
		if (e->del) {
			if (unlinkat(ds->dirfd, e->fname, 0) && errno != ENOENT)
				rc = -errno;
		} else if (!same_content(ds, e->fname, e->text, e->len)) {
			rc = ds_write_file(ds, e->fname, ".replay.tmp", e->text, e->len, false);
		}
		if (rc)
			PCN_ERR("BROKER-DS-REPLAY", "cannot replay %s/%s: %s", ds->dir, e->fname, strerror(-rc));
	}
	return rc;
}

static int gen_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Replays every journal, oldest first, then syncs and removes them.
 * *next: the generation to start with. */
int ds_journal_replay(struct broker_datastore *ds, uint64_t *next)
{
	int fd = openat(ds->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	uint64_t *gens = NULL, max = 0;
	struct replay rp = { 0 };
	size_t n = 0, cap = 0;
	struct dirent *d;
	char name[64];
	DIR *dir;
	int rc = 0;

	if (fd < 0 || !(dir = fdopendir(fd))) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		return rc;
	}
	while ((d = readdir(dir))) {
		char *end;
		unsigned long long g;

		if (strncmp(d->d_name, JOURNAL_PREFIX, strlen(JOURNAL_PREFIX)) != 0)
			continue;
		errno = 0;
		g = strtoull(d->d_name + strlen(JOURNAL_PREFIX), &end, 10);
		if (errno || *end || end == d->d_name + strlen(JOURNAL_PREFIX))
			continue;
		if (n == cap) {
			uint64_t *grown = realloc(gens, (cap = cap ? 2 * cap : 4) * sizeof(*gens));

			if (!grown) {
				rc = -ENOMEM;
				break;
			}
			gens = grown;
		}
		gens[n++] = g;
		if (g > max)
			max = g;
	}
	closedir(dir);
	if (n)
		qsort(gens, n, sizeof(*gens), gen_cmp);
	for (size_t i = 0; i < n && !rc; i++) {
		ds_journal_name(name, sizeof(name), gens[i]);
		rc = replay_read(ds, name, &rp);
		if (rc)
			PCN_ERR("BROKER-DS-REPLAY", "cannot read %s/%s: %s", ds->dir, name, strerror(-rc));
	}
	if (!rc)
		rc = replay_apply(ds, &rp);
	for (size_t i = 0; i < rp.n_bufs; i++)
		free(rp.bufs[i]);
	free(rp.bufs);
	free(rp.v);
	if (!rc && n)
		rc = ds_sync_all(ds);
	for (size_t i = 0; i < n && !rc; i++) {
		ds_journal_name(name, sizeof(name), gens[i]);
		unlinkat(ds->dirfd, name, 0);
	}
	free(gens);
	*next = max + 1;
	return rc;
}

