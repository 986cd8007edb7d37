/* pull.h — `flint pull ORG/NAME[:QUANT]`: a repository's files from a
 * Hugging Face hub into the shared cache (cache.h's layout), as
 * huggingface_hub would lay them down, so each reads what the other wrote.
 *   GET  $HF_ENDPOINT/api/models/ORG/NAME/revision/REV      -> the commit ("sha")
 *   GET  $HF_ENDPOINT/api/models/ORG/NAME/tree/COMMIT?recursive=true (pages: Link rel="next")
 *   GET  $HF_ENDPOINT/ORG/NAME/resolve/COMMIT/FILE           -> the bytes (LFS: a redirect)
 * A file downloads into blobs/<id>.incomplete under huggingface_hub's lock
 * (.locks/models--ORG--NAME/<id>.lock), resumes with a Range request when
 * cut (in this run, or the next), and becomes blobs/<id> only when its
 * hash is the one the listing gave: sha256 for LFS files, git's blob sha1
 * for the others. A blob already there is not fetched again. */
#ifndef FL_HUB_PULL_H
#define FL_HUB_PULL_H

#include <stdbool.h>
#include <stdint.h>

#include "flint.h"

typedef struct fl_hub_pull_params {
    const char *spec;           /* ORG/NAME[:QUANT] */
    const char *revision;       /* a branch, tag or commit; NULL: "main" */
    const char *const *include; /* --include globs (select.h), or NULL */
    int32_t n_include;
    /* while a file arrives: its path in the repository, bytes on disk, of total */
    void (*progress)(void *ud, const char *file, uint64_t have, uint64_t total);
    /* each chosen file once it is in place; fetched: it was downloaded now */
    void (*done)(void *ud, const char *file, uint64_t size, bool fetched);
    void *ud;
} fl_hub_pull_params;

typedef struct fl_hub_pull_result {
    char *snapshot;    /* .../snapshots/<commit> */
    char *model;       /* what -m opens: the GGUF file, or the snapshot folder */
    char commit[72];
    int64_t n_files;   /* chosen */
    int64_t n_fetched; /* downloaded now (the others were in the cache) */
    uint64_t bytes_fetched;
} fl_hub_pull_result;

/* The endpoint is $HF_ENDPOINT (default https://huggingface.co), the token
 * fl_hub_token()'s, the cache fl_hub_cache_dir(). Every refusal is a
 * status and a message: the repository or revision not found, gated or
 * private without a (good) token, a hostile listing, a size or hash that
 * does not match, a cut that did not resume. */
flint_status fl_hub_pull(const fl_hub_pull_params *p, fl_hub_pull_result *res);
void fl_hub_pull_result_free(fl_hub_pull_result *res);

#endif
