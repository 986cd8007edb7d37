/* http.c — bounded GETs with hand-followed redirects (see http.h). One
 * curl handle per transfer; each hop is a request of its own, so the
 * headers read after it are those of the response that ended the chain. */
#define _POSIX_C_SOURCE 200809L
#include "hub/http.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/error.h"
#include "hub/listing.h"

/* Where the body of one response goes. */
typedef struct sink {
    CURL *curl;
    int fd;             /* a file transfer, or -1: memory */
    uint64_t *have;     /* file: bytes on disk */
    uint64_t total;     /* file: its size */
    bool checked;       /* file: the status and Content-Range were looked at */
    char *buf;          /* memory */
    size_t len, max;
    bool too_much;      /* more than max / total arrived */
    bool io_error;      /* a write to fd failed */
    bool bad_range;     /* a 206 that does not start where the file ends */
    const fl_hub_http *h;
} sink;

static long status_of(CURL *c) {
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

static bool is_redirect(long code) {
    return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
}

/* The value of header name in the last response, or NULL */
static const char *header(CURL *c, const char *name) {
    struct curl_header *h;
    return curl_easy_header(c, name, 0, CURLH_HEADER, -1, &h) == CURLHE_OK ? h->value : NULL;
}

/* a file response: on its first bytes, a 200 to a Range request starts
 * the file over; a 206 must continue it exactly */
static bool check_file_start(sink *s, long code) {
    if (code == 200 && *s->have > 0) {
        if (ftruncate(s->fd, 0) || lseek(s->fd, 0, SEEK_SET) < 0) return s->io_error = true, false;
        *s->have = 0;
    } else if (code == 206) {
        const char *cr = header(s->curl, "Content-Range");
        char want[48];
        snprintf(want, sizeof want, "bytes %" PRIu64 "-", *s->have);
        if (!cr || strncasecmp(cr, want, strlen(want))) return s->bad_range = true, false;
    }
    return true;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
    sink *s = ud;
    size_t n = size * nmemb;
    long code = status_of(s->curl);
    if (code < 200 || code > 299) return n; /* a redirect's or an error's body: not the file */
    if (s->fd < 0) {
        if (n > s->max - s->len) return s->too_much = true, 0;
        char *b = realloc(s->buf, s->len + n + 1);
        if (!b) return 0;
        memcpy(b + s->len, data, n);
        s->buf = b;
        s->len += n;
        s->buf[s->len] = 0;
        return n;
    }
    if (!s->checked) {
        s->checked = true;
        if (!check_file_start(s, code)) return 0;
    }
    if (n > s->total - *s->have) return s->too_much = true, 0;
    for (size_t done = 0; done < n;) {
        ssize_t w = write(s->fd, data + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return s->io_error = true, 0;
        done += (size_t)w;
    }
    *s->have += n;
    if (s->h->progress) s->h->progress(s->h->ud, *s->have, s->total);
    return n;
}

/* scheme://host:port of a URL, lowercased, the scheme's default port made explicit */
static bool origin_of(const char *url, char *out, size_t cap) {
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    bool ok = u && !curl_url_set(u, CURLUPART_URL, url, 0) && !curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) &&
              !curl_url_get(u, CURLUPART_HOST, &host, 0) &&
              !curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
    if (ok) {
        snprintf(out, cap, "%s://%s:%s", scheme, host, port);
        for (char *p = out; *p; p++) *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return ok;
}

static void copy_header(CURL *c, const char *name, char *out, size_t cap) {
    const char *v = header(c, name);
    snprintf(out, cap, "%s", v ? v : "");
}

/* One GET chain into s: each hop a request; the token only to the endpoint's origin. */
static flint_status transfer(const fl_hub_http *h, const char *url, sink *s, fl_hub_reply *r) {
    memset(r, 0, sizeof *r);
    char home[512], here[512];
    if (!origin_of(h->endpoint, home, sizeof home))
        return fl_errorf(FLINT_E_INVALID_ARG, "the hub endpoint '%s' is not a URL (HF_ENDPOINT?)", h->endpoint);
    CURL *c = curl_easy_init();
    char *cur = strdup(url), *auth = NULL;
    if (h->token && (auth = malloc(strlen(h->token) + 32))) sprintf(auth, "Authorization: Bearer %s", h->token);
    if (!c || !cur || (h->token && !auth)) {
        curl_easy_cleanup(c);
        free(cur);
        free(auth);
        return fl_errorf(FLINT_E_NOMEM, "out of memory");
    }
    s->curl = c;
    s->h = h;
    flint_status st = FLINT_OK;
    for (int hop = 0;; hop++) {
        if (hop > FL_HUB_MAX_REDIRECTS) {
            st = fl_errorf(FLINT_E_FORMAT, "%s: more than %d redirects (a loop?)", url, FL_HUB_MAX_REDIRECTS);
            break;
        }
        struct curl_slist *hdr = curl_slist_append(NULL, "Accept-Encoding: identity");
        bool ours = origin_of(cur, here, sizeof here) && !strcmp(here, home);
        if (auth && ours) hdr = curl_slist_append(hdr, auth);
        char range[64];
        if (s->fd >= 0 && *s->have > 0) {
            snprintf(range, sizeof range, "Range: bytes=%" PRIu64 "-", *s->have);
            hdr = curl_slist_append(hdr, range);
        }
        curl_easy_reset(c);
        curl_easy_setopt(c, CURLOPT_URL, cur);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "flint");
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L); /* a stalled server: 60 s without a byte */
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        s->checked = false;
        CURLcode rc = curl_easy_perform(c);
        curl_slist_free_all(hdr);
        long code = status_of(c);
        if (s->too_much) {
            st = s->fd >= 0 ? fl_errorf(FLINT_E_FORMAT, "%s sent more than the %" PRIu64 " bytes its listing gave", url,
                                        s->total)
                            : fl_errorf(FLINT_E_FORMAT, "%s: the reply is larger than %zu bytes", url, s->max);
            break;
        }
        if (s->io_error) {
            st = fl_errorf(FLINT_E_IO, "writing %s to the cache failed: %s", url, strerror(errno));
            break;
        }
        if (s->bad_range) {
            st = fl_errorf(FLINT_E_FORMAT, "%s answered a Range request for bytes %" PRIu64 "- with other bytes", url,
                           *s->have);
            break;
        }
        if (rc != CURLE_OK) {
            st = fl_errorf(FLINT_E_IO, "%s: %s", cur, curl_easy_strerror(rc));
            break;
        }
        char *next = NULL;
        if (is_redirect(code)) curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &next);
        if (is_redirect(code) && next) {
            char *n2 = strdup(next);
            if (!n2) {
                st = fl_errorf(FLINT_E_NOMEM, "out of memory");
                break;
            }
            free(cur);
            cur = n2;
            continue;
        }
        r->status = code;
        copy_header(c, "X-Repo-Commit", r->commit, sizeof r->commit);
        copy_header(c, "X-Error-Code", r->error_code, sizeof r->error_code);
        copy_header(c, "X-Error-Message", r->error_message, sizeof r->error_message);
        const char *link = header(c, "Link");
        if (link) r->link_next = fl_hub_link_next(link);
        break;
    }
    curl_easy_cleanup(c);
    free(cur);
    free(auth);
    return st;
}

flint_status fl_hub_get_json(const fl_hub_http *h, const char *url, size_t max, fl_hub_reply *r) {
    sink s = {.fd = -1, .max = max};
    flint_status st = transfer(h, url, &s, r);
    if (st) {
        free(s.buf);
        return st;
    }
    r->body = s.buf ? s.buf : calloc(1, 1);
    r->len = s.len;
    return r->body ? FLINT_OK : fl_errorf(FLINT_E_NOMEM, "out of memory");
}

flint_status fl_hub_get_file(const fl_hub_http *h, const char *url, int fd, uint64_t *have, uint64_t total,
                             fl_hub_reply *r) {
    sink s = {.fd = fd, .have = have, .total = total};
    memset(r, 0, sizeof *r);
    if (lseek(fd, (off_t)*have, SEEK_SET) < 0) return fl_errorf(FLINT_E_IO, "seek in a partial download: %s", strerror(errno));
    return transfer(h, url, &s, r);
}

void fl_hub_reply_free(fl_hub_reply *r) {
    free(r->link_next);
    free(r->body);
    memset(r, 0, sizeof *r);
}
