/* isolate: copying out of a finished container (copy.c). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "common.h"

/* What every created file, directory or symlink costs on top of its data. */
#define ISOLATE_COPY_ENTRY_COST 512u
/* How deep a walk of a tree the container wrote goes (copies: -ELOOP). */
#define ISOLATE_COPY_MAX_DEPTH 256u

typedef struct IsolateCopy {
        /* The kept upper dir: owners, modes, extended attributes and overlay
         * whiteouts as they are, because the copy is used as a layer again.
         * Artifacts (false) get the harness's own owner, modes masked with
         * 0755 and no extended attributes: nothing the container set
         * (set-uid bits, file capabilities, foreign owners) comes out. */
        bool faithful;
        uint64_t left;  /* bytes the copy may still write (data + entry costs) */
        bool limit_hit; /* left ran out: the copy stopped */
} IsolateCopy;

/* Copies the entry name of src_dir (never followed) to dst_name in dst_dir.
 * Destinations are created, never reused or followed (O_EXCL, O_NOFOLLOW);
 * only a directory the copy itself made may be entered again. Holes of
 * sparse files stay holes. Returns -EFBIG once cp->left runs out. */
int isolate_copy_entry(int src_dir, const char *name, int dst_dir, const char *dst_name,
                       IsolateCopy *cp, unsigned depth);

/* Copies the container path `path` (resolved inside root_fd; its last
 * component is copied as it is, a symlink as a symlink) to the same relative
 * path beneath dst_fd, each destination directory opened with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS. A path with a `..` component is
 * refused. */
int isolate_copy_artifact(int root_fd, const char *path, int dst_fd, IsolateCopy *cp, ThError *err);

/* Copies the regular file name of src_dir (never followed) to the same name
 * in dst_dir: whatever was there is removed, the copy created anew (O_EXCL,
 * O_NOFOLLOW) with mode 0644, the caller's owner and no extended
 * attributes, holes kept, and at most max bytes long (holes count): a
 * longer file is cut there and *ret_cut set. */
int isolate_copy_output(int src_dir, const char *name, int dst_dir, uint64_t max, bool *ret_cut);

/* After a container with a writable bind ended: clears the set-uid and
 * set-gid bits and removes the file capabilities of every regular file beneath fd (a directory or a file, O_PATH
 * will do) whose inode changed since `since` (its ctime, which no process can
 * set back: a chmod, chown or write of the container's), never following a
 * symlink or crossing into another file system. The container wrote those
 * files as host root (idmapped), so a set-uid file it left would be a
 * set-uid-root program on the host; files it did not touch keep their modes.
 * Best effort. */
void isolate_strip_setid(int fd, const struct timespec *since);
