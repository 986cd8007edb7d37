/* http.h — the GETs `flint pull` makes, over libcurl. Redirects are
 * followed here, not by curl, so that the token goes only to the
 * endpoint's own origin (an LFS file redirects to a CDN on another host),
 * a loop ends after FL_HUB_MAX_REDIRECTS, and only http(s) is spoken.
 * What a reply may hold is bounded: a JSON body by a byte limit, a file by
 * the size the listing gave. Never prints, never exits. */
#ifndef FL_HUB_HTTP_H
#define FL_HUB_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "flint.h"

#define FL_HUB_MAX_REDIRECTS 10

typedef struct fl_hub_http {
    const char *endpoint; /* "https://huggingface.co": the origin the token belongs to */
    const char *token;    /* sent as "Authorization: Bearer" to that origin only; NULL: none */
    /* called as a file arrives: bytes of it on disk, of total */
    void (*progress)(void *ud, uint64_t have, uint64_t total);
    void *ud;
} fl_hub_http;

/* The final response of a GET (after redirects) */
typedef struct fl_hub_reply {
    long status;
    char commit[72];         /* X-Repo-Commit, or "" */
    char error_code[64];     /* X-Error-Code ("GatedRepo", "RepoNotFound", "EntryNotFound", ...), or "" */
    char error_message[256]; /* X-Error-Message, or "" */
    char *link_next;         /* a Link header's rel="next" URL, or NULL */
    char *body;              /* fl_hub_get_json: the body, NUL-terminated */
    size_t len;
} fl_hub_reply;

/* GET url into r->body, refusing more than max bytes. FLINT_OK whatever
 * the HTTP status (the caller reads r->status); FLINT_E_IO when no reply
 * came (curl's reason and the URL in the message). */
flint_status fl_hub_get_json(const fl_hub_http *h, const char *url, size_t max, fl_hub_reply *r);

/* GET url into fd, which holds the file's first *have bytes already
 * (asked for the rest with a Range; a server that answers 200 instead
 * starts it over). Writes until the file has total bytes; *have is what it
 * has on return, also after a cut connection (FLINT_E_IO: resumable).
 * More bytes than total is FLINT_E_FORMAT. A non-2xx status returns
 * FLINT_OK with r->status set and nothing written. */
flint_status fl_hub_get_file(const fl_hub_http *h, const char *url, int fd, uint64_t *have, uint64_t total,
                             fl_hub_reply *r);

void fl_hub_reply_free(fl_hub_reply *r);

#endif
