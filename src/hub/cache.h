/* cache.h — the Hugging Face hub cache, laid out as huggingface_hub lays it
 * out, so transformers, mlx-lm, llama.cpp and flint share one copy:
 *   $HF_HUB_CACHE/models--ORG--NAME/
 *       blobs/<sha256 of an LFS file | git sha1 of another>   the bytes
 *       snapshots/<commit>/<path> -> ../../blobs/<id>         relative symlinks
 *       refs/<revision>                                       the commit (no newline)
 * and the offline side of `-m ORG/NAME[:QUANT]`. No network here. */
#ifndef FL_HUB_CACHE_H
#define FL_HUB_CACHE_H

#include <stdbool.h>

#include "flint.h"

#define FL_HUB_MAX_NAME_PART 96                        /* huggingface_hub's limit on ORG and on NAME */
#define FL_HUB_MAX_REPO (2 * FL_HUB_MAX_NAME_PART + 1) /* ORG/NAME */

/* "ORG/NAME[:QUANT]" split and checked */
typedef struct fl_hub_ref {
    char repo[FL_HUB_MAX_REPO + 1];
    char quant[64]; /* "" when none */
} fl_hub_ref;

/* Parses spec; FLINT_E_INVALID_ARG naming what is wrong. A repo id is two
 * names of [A-Za-z0-9._-] joined by '/', each starting and ending with a
 * letter, digit or '_', at most 96 bytes each, without "--" or "..", not
 * ending in ".git" (as huggingface_hub validates it); QUANT is [A-Za-z0-9._-]. */
flint_status fl_hub_parse_ref(const char *spec, fl_hub_ref *r);
/* Whether spec parses as a ref (no message recorded). */
bool fl_hub_is_ref(const char *spec);

/* The cache folder as huggingface_hub finds it: $HF_HUB_CACHE, else
 * $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else
 * $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub (a
 * leading "~/" expanded). A new string; NULL (with a message) without HOME. */
char *fl_hub_cache_dir(void);
/* The token huggingface_hub would send: $HF_TOKEN, else the first line of
 * $HF_TOKEN_PATH or $HF_HOME/token (`hf auth login` writes it); NULL when
 * there is none. A new string. */
char *fl_hub_token(void);
/* cache/.locks/models--ORG--NAME, where huggingface_hub takes its per-blob
 * locks (<id>.lock, flock), a new string */
char *fl_hub_lock_dir(const char *cache, const char *repo);
/* cache/models--ORG--NAME, a new string (NULL: out of memory) */
char *fl_hub_repo_dir(const char *cache, const char *repo);

/* The commit refs/<rev> names, into commit (41+ bytes: a git sha1, 40
 * hex; a 64-hex id fits 65). FLINT_E_NOT_FOUND without the file. */
flint_status fl_hub_read_ref(const char *repo_dir, const char *rev, char *commit, size_t cap);

/* -m ORG/NAME[:QUANT] from the cache, offline: refs/main -> the snapshot
 * -> the GGUF file (fl_hub_select's rules) or the folder. *path is a new
 * string. FLINT_E_NOT_FOUND when the repository is not cached, with the
 * `flint pull` command that fetches it. */
flint_status fl_hub_resolve(const char *spec, char **path);

#endif
