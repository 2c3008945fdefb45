/* The broker's persistent record of every instance: one JSON file each. */
#include "datastore.h"
#include "record_int.h"
#include "ds_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "pcn_layout.h"
#include "pcn_kern_user.h"

/* "<service>@<name>.json.corrupt" and the NUL, with room to spare. */
#define FILE_NAME_LEN (2 * NAME_MAX_LEN + 32)

int (*broker_datastore_crash_hook)(const char *tmp_path);


/* 0, or -EINVAL/-ENAMETOOLONG with buf "" (which names no record). */
static int file_name(char *buf, const char *service, const char *name)
{
	return pcn_layout_record(buf, FILE_NAME_LEN, service, name, NULL);
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Splits "<service>@<name>.json" into valid names; false for any other file. */
static bool parse_file_name(const char *f, char *service, char *name)
{
	const char *at = strchr(f, '@');
	size_t slen, nlen;

	if (!at || !has_suffix(f, ".json"))
		return false;
	slen = (size_t)(at - f);
	nlen = strlen(at + 1) - strlen(".json");
	if (slen == 0 || slen > NAME_MAX_LEN || nlen == 0 || nlen > NAME_MAX_LEN)
		return false;
	memcpy(service, f, slen);
	service[slen] = '\0';
	memcpy(name, at + 1, nlen);
	name[nlen] = '\0';
	return broker_datastore_name_valid(service) && broker_datastore_name_valid(name);
}

/* ---- files --------------------------------------------------------------- */

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* mkdir -p with mode 0700 for every directory it creates. */
static int mkdir_p(const char *path)
{
	char *p = strdup(path);
	int rc = 0;

	if (!p)
		return -ENOMEM;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) && errno != EEXIST) {
			rc = -errno;
			goto out;
		}
		*s = '/';
	}
	if (mkdir(p, 0700) && errno != EEXIST)
		rc = -errno;
out:
	free(p);
	return rc;
}

/* Opens a fresh stream on the store's directory (readdir must not share
 * the offset of dirfd). */
static DIR *open_dir(struct broker_datastore *ds)
{
	int fd = openat(ds->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;

	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d)
		close(fd);
	return d;
}

/* A crash between writing a .tmp and renaming it leaves the .tmp behind;
 * the old file is still the truth, so the .tmp only has to go. */
static int remove_stale_tmp(struct broker_datastore *ds)
{
	struct dirent *e;
	int removed = 0;
	DIR *d = open_dir(ds);

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (!has_suffix(e->d_name, ".tmp"))
			continue;
		if (unlinkat(ds->dirfd, e->d_name, 0) == 0) {
			PCN_WARN("BROKER-DS-STALE-TMP", "removed %s/%s, left by an interrupted write",
				 ds->dir, e->d_name);
			removed++;
		} else {
			PCN_WARN("BROKER-DS-STALE-TMP", "cannot remove %s/%s: %s", ds->dir, e->d_name,
				 strerror(errno));
		}
	}
	closedir(d);
	if (removed && fsync(ds->dirfd))
		return -errno;
	return 0;
}

int broker_datastore_open(struct broker_datastore **out, const char *state_dir)
{
	struct broker_datastore *ds;
	int rc;

	if (!out || !state_dir || !state_dir[0])
		return -EINVAL;
	ds = calloc(1, sizeof(*ds));
	if (!ds)
		return -ENOMEM;
	ds->dirfd = -1;
	if (asprintf(&ds->dir, "%s/" PCN_LAYOUT_INSTANCES, state_dir) < 0) {
		ds->dir = NULL;
		rc = -ENOMEM;
		goto out;
	}
	rc = mkdir_p(ds->dir);
	if (rc)
		goto out;
	ds->dirfd = open(ds->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ds->dirfd < 0) {
		rc = -errno;
		goto out;
	}
	/* The configs may hold secrets: only root reads them, whatever made the directory. */
	if (fchmod(ds->dirfd, 0700)) {
		rc = -errno;
		goto out;
	}
	/* One broker per state directory: a second one would delete the .tmp
	 * files the first is writing, and both would hand out the same slots.
	 * The lock goes with the process, however it dies. */
	if (flock(ds->dirfd, LOCK_EX | LOCK_NB)) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		if (rc == -EBUSY)
			PCN_ERR("BROKER-DS-BUSY", "%s is in use by another broker", ds->dir);
		goto out;
	}
	rc = remove_stale_tmp(ds);
	if (rc == 0)
		rc = ds_commit_open(ds);
out:
	if (rc) {
		PCN_ERR("BROKER-DS-OPEN", "cannot open the datastore in %s: %s", state_dir, strerror(-rc));
		broker_datastore_close(ds);
		return rc;
	}
	*out = ds;
	return 0;
}

void broker_datastore_close(struct broker_datastore *ds)
{
	if (!ds)
		return;
	ds_commit_close(ds);
	if (ds->dirfd >= 0)
		close(ds->dirfd);
	free(ds->dir);
	free(ds);
}

bool ds_fname_valid(const char *fname)
{
	char service[NAME_MAX_LEN + 1], name[NAME_MAX_LEN + 1];

	return strlen(fname) < FILE_NAME_LEN && parse_file_name(fname, service, name);
}

int ds_write_file(struct broker_datastore *ds, const char *fname, const char *suffix, const char *text, size_t len,
		  bool sync)
{
	char tmp[FILE_NAME_LEN + 32];
	int fd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s%s", fname, suffix) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = openat(ds->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	rc = fchmod(fd, 0600) ? -errno : write_all(fd, text, len);
	if (!rc && sync && fsync(fd))
		rc = -errno;
	if (close(fd) && !rc)
		rc = -errno;
	if (!rc && renameat(ds->dirfd, tmp, ds->dirfd, fname))
		rc = -errno;
	if (rc) {
		unlinkat(ds->dirfd, tmp, 0);
		return rc;
	}
	return sync && fsync(ds->dirfd) ? -errno : 0;
}

int ds_sync_all(struct broker_datastore *ds)
{
	struct dirent *e;
	DIR *d = open_dir(ds);
	int rc = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		int fd;

		if (!has_suffix(e->d_name, ".json"))
			continue;
		fd = openat(ds->dirfd, e->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue; /* gone meanwhile, or not ours to read */
		if (fsync(fd) && !rc)
			rc = -errno;
		close(fd);
	}
	closedir(d);
	if (fsync(ds->dirfd) && !rc)
		rc = -errno;
	return rc;
}

/* The record's file name and text, for put. */
static int put_prepare(const struct broker_record *rec, char *fname, char **text, size_t *len)
{
	json_t *root = NULL;
	char *body;
	int rc;

	rc = broker_record_to_json(rec, &root);
	if (rc)
		return rc;
	rc = file_name(fname, rec->service, rec->name);
	body = rc ? NULL : json_dumps(root, JSON_INDENT(2));
	json_decref(root);
	if (rc)
		return rc;
	if (!body || asprintf(text, "%s\n", body) < 0) {
		free(body);
		return -ENOMEM;
	}
	free(body);
	*len = strlen(*text);
	return 0;
}

static int put_common(struct broker_datastore *ds, const struct broker_record *rec, broker_ds_done done, void *arg)
{
	char fname[FILE_NAME_LEN];
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (!ds || !rec)
		return -EINVAL;
	rc = put_prepare(rec, fname, &text, &len);
	if (rc == 0)
		rc = ds_commit_stage(ds, fname, text, len, done, arg);
	if (rc && rc != -EINVAL)
		PCN_ERR("BROKER-DS-WRITE", "cannot store %s@%s in %s: %s", rec->service, rec->name, ds->dir,
			strerror(-rc));
	free(text);
	return rc;
}

int broker_datastore_put(struct broker_datastore *ds, const struct broker_record *rec)
{
	return put_common(ds, rec, NULL, NULL);
}

int broker_datastore_put_async(struct broker_datastore *ds, const struct broker_record *rec, broker_ds_done done,
			       void *arg)
{
	if (!done)
		return -EINVAL;
	return put_common(ds, rec, done, arg);
}

static int delete_common(struct broker_datastore *ds, const char *service, const char *name, broker_ds_done done,
			 void *arg)
{
	char fname[FILE_NAME_LEN];

	if (!ds || !broker_datastore_name_valid(service) || !broker_datastore_name_valid(name))
		return -EINVAL;
	if (file_name(fname, service, name))
		return -EINVAL;
	return ds_commit_stage(ds, fname, NULL, 0, done, arg);
}

int broker_datastore_delete(struct broker_datastore *ds, const char *service, const char *name)
{
	return delete_common(ds, service, name, NULL, NULL);
}

int broker_datastore_delete_async(struct broker_datastore *ds, const char *service, const char *name,
				  broker_ds_done done, void *arg)
{
	if (!done)
		return -EINVAL;
	return delete_common(ds, service, name, done, arg);
}

struct entry {
	char service[NAME_MAX_LEN + 1];
	char name[NAME_MAX_LEN + 1];
};

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->service, y->service);

	return c ? c : strcmp(x->name, y->name);
}

/* Lists the record files, sorted. File names sort differently from
 * (service, name) pairs ('-' < '@'), hence the split before sorting. */
static int list_entries(struct broker_datastore *ds, struct entry **out, size_t *n_out)
{
	struct entry *v = NULL, *grown;
	size_t n = 0, cap = 0;
	struct dirent *e;
	DIR *d = open_dir(ds);

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (!has_suffix(e->d_name, ".json"))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			grown = realloc(v, cap * sizeof(*v));
			if (!grown) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = grown;
		}
		if (!parse_file_name(e->d_name, v[n].service, v[n].name)) {
			PCN_WARN("BROKER-DS-STRAY", "ignored %s/%s: not named <service>@<instance>.json", ds->dir,
				 e->d_name);
			continue;
		}
		n++;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), entry_cmp);
	*out = v;
	*n_out = n;
	return 0;
}

/* Moves a corrupt file out of the way, so the next start does not trip on
 * it again and a person can still look at it. */
static void set_aside(struct broker_datastore *ds, const char *fname, const char *why)
{
	char aside[FILE_NAME_LEN + 16];

	snprintf(aside, sizeof(aside), "%s.corrupt", fname);
	if (renameat(ds->dirfd, fname, ds->dirfd, aside) == 0) {
		fsync(ds->dirfd);
		PCN_ERR("BROKER-DS-CORRUPT", "%s/%s is corrupt (%s): skipped, moved to %s", ds->dir, fname, why,
			aside);
	} else {
		PCN_ERR("BROKER-DS-CORRUPT", "%s/%s is corrupt (%s): skipped (cannot move it aside: %s)", ds->dir,
			fname, why, strerror(errno));
	}
}

/* Reads fd (size bytes, by fstat) into *text (malloc'd); a file that grew
 * meanwhile is read up to BROKER_DS_MAX_FILE and then refused by the
 * parser, as a cut one is. 0 or -errno. */
static int read_whole(int fd, size_t size, char **text, size_t *len)
{
	size_t cap = size + 1, n = 0;
	char *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *grown = cap < BROKER_DS_MAX_FILE ? realloc(buf, 2 * cap) : NULL;

			if (!grown)
				break;
			buf = grown;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int rc = -errno;

			PCN_ERR("BROKER-DS-READ", "cannot read a record: %s", strerror(errno));
			free(buf);
			return rc;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*text = buf;
	*len = n;
	return 0;
}

/* What one file turned out to be. */
enum load_result {
	LOAD_OK,       /* rec filled */
	LOAD_GONE,     /* vanished since the listing: nothing to say about it */
	LOAD_UNREAD,   /* there but unreadable (EACCES, EIO): left in place */
	LOAD_CORRUPT,  /* not a record we can trust: set it aside */
	LOAD_FOREIGN,  /* another format: left in place */
};

/* Loads one record file into rec. LOAD_*, or -ENOMEM. *why says why a
 * file is corrupt; why_buf holds it when it is built here. */
static int load_one(struct broker_datastore *ds, const struct entry *e, struct broker_record *rec,
		    const char **why, char *why_buf, size_t why_len)
{
	char fname[FILE_NAME_LEN];
	json_error_t jerr;
	struct stat st;
	json_t *root;
	char *text = NULL;
	size_t len = 0;
	int fd, rc;

	file_name(fname, e->service, e->name);
	fd = openat(ds->dirfd, fname, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return LOAD_GONE;
		PCN_ERR("BROKER-DS-READ", "cannot read %s/%s: %s; left in place", ds->dir, fname,
			strerror(errno));
		*why = "unreadable";
		return LOAD_UNREAD;
	}
	/* Not a regular file (a FIFO would block the start) or larger than any
	 * record the broker writes: refused before reading a byte. */
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > BROKER_DS_MAX_FILE) {
		close(fd);
		*why = "not a regular file, or larger than a record may be";
		return LOAD_CORRUPT;
	}
	/* Read whole, then parsed: json_loadfd reads a byte per system call
	 * (seconds for a large config). */
	rc = read_whole(fd, (size_t)st.st_size, &text, &len);
	close(fd);
	if (rc) {
		*why = "unreadable";
		return rc == -ENOMEM ? rc : LOAD_UNREAD;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!root) {
		snprintf(why_buf, why_len, "line %d: %s", jerr.line, jerr.text);
		*why = why_buf;
		return LOAD_CORRUPT;
	}
	rc = broker_record_from_json(root, e->service, e->name, rec, why);
	json_decref(root);
	if (rc == -ENOMEM)
		return rc;
	if (rc == -EPROTONOSUPPORT) {
		PCN_ERR("BROKER-DS-FORMAT", "%s/%s has a format this broker does not know (it knows %d): "
			"skipped and left in place", ds->dir, fname, BROKER_DS_FORMAT);
		return LOAD_FOREIGN;
	}
	return rc ? LOAD_CORRUPT : LOAD_OK;
}

/* The slots the records loaded so far hold: each belongs to one record
 * (the first in the walk's order that claims it). */
struct claims {
	uint64_t slots[(PCN_MAX_CUBES + 63) / 64];
};

static const char *claims_check(const struct claims *c, const struct broker_record *rec)
{
	if (c->slots[rec->index / 64] & (1ull << (rec->index % 64)))
		return "its slot belongs to another record";
	return NULL;
}

static void claims_add(struct claims *c, const struct broker_record *rec)
{
	c->slots[rec->index / 64] |= 1ull << (rec->index % 64);
}

int broker_datastore_load_ex(struct broker_datastore *ds, int (*fn)(void *arg, const struct broker_record *rec),
			     void (*skipped)(void *arg, const struct broker_ds_skipped *s), void *arg)
{
	struct claims claims = { 0 };
	struct entry *v = NULL;
	size_t n = 0;
	int rc;

	if (!ds || !fn)
		return -EINVAL;
	rc = list_entries(ds, &v, &n);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct broker_ds_skipped sk = { .service = v[i].service, .name = v[i].name };
		struct broker_record rec;
		char why_buf[200], fname[FILE_NAME_LEN];
		const char *why = "";
		int res;

		res = load_one(ds, &v[i], &rec, &why, why_buf, sizeof(why_buf));
		if (res < 0) {
			rc = res;
			break;
		}
		if (res == LOAD_GONE)
			continue;
		if (res == LOAD_OK) {
			why = claims_check(&claims, &rec);
			if (!why) {
				rc = fn(arg, &rec);
				if (rc == BROKER_DS_REFUSE) {
					why = "refused by the broker (see above)";
					rc = 0;
				} else if (rc == 0) {
					claims_add(&claims, &rec);
				}
			}
			sk.has_index = true;
			sk.index = rec.index;
			broker_record_fini(&rec);
			if (rc)
				break;
			if (!why)
				continue;
			res = LOAD_CORRUPT;
		}
		if (res == LOAD_CORRUPT) {
			file_name(fname, v[i].service, v[i].name);
			set_aside(ds, fname, why);
			sk.set_aside = true;
		}
		sk.why = why;
		if (skipped)
			skipped(arg, &sk);
	}
	free(v);
	return rc;
}

int broker_datastore_load(struct broker_datastore *ds, int (*fn)(void *arg, const struct broker_record *rec),
			  void *arg)
{
	return broker_datastore_load_ex(ds, fn, NULL, arg);
}
