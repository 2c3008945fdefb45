/* Recursive removal without a shell (rmtree.c). */
#ifndef BROKER_RMTREE_H
#define BROKER_RMTREE_H

#include <stddef.h>

/* Removes dir and everything under it, as `rm -rf -- dir` would, except
 * that it never leaves dir: a symbolic link is removed, never followed (its
 * target stays), and no other filesystem mounted below dir is entered (the
 * mount point and its parents stay, and the call fails). -EINVAL for ""
 * and "/". 0, also when dir does not exist; else the first -errno met (it
 * removes what it can past an error, like rm -rf). */
int broker_rmtree(const char *dir);
/* The same; failed (len bytes, may be NULL) gets the first path it could
 * not remove, "" when it returns 0, so that the caller can name it. */
int broker_rmtree_report(const char *dir, char *failed, size_t len);

#endif /* BROKER_RMTREE_H */
