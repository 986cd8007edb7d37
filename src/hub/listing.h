/* listing.h — a Hugging Face repository's file listing, as the hub's
 * `/api/models/ORG/NAME/tree/REV?recursive=true` returns it (a JSON array
 * per page, the next page named by a `Link: <URL>; rel="next"` header).
 * Pure: no I/O. The server is untrusted, so every path and blob id is
 * checked here before anything is built from it (fuzzed: fuzz/fuzz_hub_listing.c). */
#ifndef FL_HUB_LISTING_H
#define FL_HUB_LISTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flint.h"

#define FL_HUB_MAX_FILES 100000 /* files in one repository's listing */
#define FL_HUB_MAX_PATH 1024    /* bytes of a path inside the repository */
#define FL_HUB_MAX_NAME 255     /* bytes of one path component (NAME_MAX) */

typedef struct fl_hub_entry {
    char *path;    /* checked by fl_hub_check_path */
    uint64_t size; /* the file's bytes (an LFS file's lfs.size) */
    char blob[65]; /* its name under blobs/: lfs.oid (sha256, 64 hex) for an LFS file, else oid
                      (git's sha1 of "blob <size>\0" + content, 40 hex), as huggingface_hub names it */
    bool lfs;
} fl_hub_entry;

typedef struct fl_hub_listing {
    fl_hub_entry *v;
    int64_t n, cap;
} fl_hub_listing;

/* Appends the files of one page (len bytes of JSON: an array of {type,
 * path, oid, size, lfs?: {oid, size}}) to ls; directories are skipped.
 * Refuses (FLINT_E_FORMAT, naming the entry) anything else: not an array,
 * a bad path, a blob id that is not hex of the right length, a negative
 * or disagreeing size, more than FL_HUB_MAX_FILES. */
flint_status fl_hub_listing_parse(fl_hub_listing *ls, const char *json, size_t len);
/* After the last page: sorts the files by path and refuses a path given
 * twice, or a file that is also another file's folder ("a" and "a/b"). */
flint_status fl_hub_listing_finish(fl_hub_listing *ls);
void fl_hub_listing_free(fl_hub_listing *ls);

/* A path that stays inside the folder it is joined to: relative, non-empty
 * '/'-separated components, none empty, "." or "..", no backslash, no
 * control character (NUL included: len is the string's full length), at
 * most FL_HUB_MAX_NAME bytes a component and FL_HUB_MAX_PATH in all.
 * Returns NULL when fine, else why not (a static string). */
const char *fl_hub_path_problem(const char *path, size_t len);

/* The URL of the rel="next" link in a Link header's value (a new string),
 * or NULL when there is none. */
char *fl_hub_link_next(const char *link);

#endif
