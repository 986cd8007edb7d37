/* pull.c — a repository into the hub cache (see pull.h): the commit, the
 * listing, the chosen files, each verified into blobs/ and linked from
 * snapshots/<commit>/, then refs/<revision>. */
#define _GNU_SOURCE /* asprintf */
#include "hub/pull.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/json.h"
#include "hub/cache.h"
#include "hub/http.h"
#include "hub/listing.h"
#include "hub/select.h"

#define MAX_JSON (16u << 20) /* bytes of one API reply (a listing page of ~50k files) */
#define MAX_PAGES 1000
#define MAX_TRIES 5 /* attempts at one file in a row that bring no new byte */

/* One pull's state. */
typedef struct puller {
    const fl_hub_pull_params *p;
    fl_hub_ref ref;
    const char *revision;
    char *endpoint, *token, *cache, *repo_dir, *lock_dir;
    fl_hub_http http;
    const char *file; /* the one arriving, for progress */
} puller;

/* a new string from a format; NULL only when out of memory */
__attribute__((format(printf, 1, 2))) static char *fmt(const char *f, ...) {
    va_list ap;
    va_start(ap, f);
    char *s;
    if (vasprintf(&s, f, ap) < 0) s = NULL;
    va_end(ap);
    return s;
}

/* percent-encodes all but unreserved bytes (and '/' where keep_slash) */
static char *url_escape(const char *s, bool keep_slash) {
    char *out = malloc(strlen(s) * 3 + 1), *o = out;
    if (!out) return NULL;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("-._~", *c) ||
            (keep_slash && *c == '/'))
            *o++ = (char)*c;
        else o += sprintf(o, "%%%02X", *c);
    }
    *o = 0;
    return out;
}

/* mkdir -p */
static flint_status make_dirs(const char *path) {
    char *p = strdup(path);
    if (!p) return fl_errorf(FLINT_E_NOMEM, "out of memory");
    for (char *q = p + 1;; q++) {
        if (*q != '/' && *q) continue;
        char c = *q;
        *q = 0;
        if (mkdir(p, 0777) && errno != EEXIST) {
            flint_status s = fl_errorf(FLINT_E_IO, "cannot create the folder %s: %s", p, strerror(errno));
            free(p);
            return s;
        }
        if (!c) break;
        *q = c;
    }
    free(p);
    return FLINT_OK;
}

/* The hub's refusal of a request as a message a user can act on. */
static flint_status refusal(const puller *pl, const fl_hub_reply *r, const char *file) {
    const char *repo = pl->ref.repo, *code = r->error_code;
    bool gated = !strcmp(code, "GatedRepo");
    if (gated && !pl->token)
        return fl_errorf(FLINT_E_IO, "%s is gated: accept its conditions at %s/%s, then set HF_TOKEN to an access "
                         "token of that account (HTTP %ld)", repo, pl->endpoint, repo, r->status);
    if (gated)
        return fl_errorf(FLINT_E_IO, "%s is gated and the token given (HF_TOKEN) has no access: accept its conditions "
                         "at %s/%s with that account (HTTP %ld)", repo, pl->endpoint, repo, r->status);
    if (!strcmp(code, "RevisionNotFound"))
        return fl_errorf(FLINT_E_NOT_FOUND, "%s has no revision '%s'", repo, pl->revision);
    if (!strcmp(code, "EntryNotFound") || (file && r->status == 404 && strcmp(code, "RepoNotFound")))
        return fl_errorf(FLINT_E_NOT_FOUND, "%s has no file '%s' (HTTP %ld)", repo, file ? file : "?", r->status);
    if (!strcmp(code, "RepoNotFound") || r->status == 401 || r->status == 404)
        return fl_errorf(FLINT_E_NOT_FOUND, "repository %s not found on %s%s (HTTP %ld)", repo, pl->endpoint,
                         pl->token ? ", or the token (HF_TOKEN) has no access to it" : " (a private one needs HF_TOKEN)",
                         r->status);
    return fl_errorf(FLINT_E_IO, "%s: the hub answered HTTP %ld%s%s", repo, r->status, r->error_message[0] ? ": " : "",
                     r->error_message);
}

static bool is_commit(const char *s) {
    size_t n = strlen(s);
    if (n != 40) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return true;
}

/* the commit a revision names: GET /api/models/R/revision/REV -> {"sha": ...} */
static flint_status find_commit(puller *pl, char commit[72]) {
    char *rev = url_escape(pl->revision, false);
    char *url = rev ? fmt("%s/api/models/%s/revision/%s", pl->endpoint, pl->ref.repo, rev) : NULL;
    fl_hub_reply r;
    flint_status s = url ? fl_hub_get_json(&pl->http, url, MAX_JSON, &r) : fl_errorf(FLINT_E_NOMEM, "out of memory");
    if (!s && r.status != 200) s = refusal(pl, &r, NULL);
    json_t *root = NULL;
    if (!s && !(s = fl_json_load(r.body, r.len, url, "revision reply", &root))) {
        const json_t *sha = json_object_get(root, "sha");
        if (!json_is_string(sha) || !is_commit(json_string_value(sha)))
            s = fl_errorf(FLINT_E_FORMAT, "%s: the reply has no \"sha\" (a 40-hex commit id)", url);
        else memcpy(commit, json_string_value(sha), 41);
    }
    json_decref(root);
    if (url) fl_hub_reply_free(&r);
    free(url);
    free(rev);
    return s;
}

/* every page of the recursive tree listing at commit */
static flint_status list_files(puller *pl, const char *commit, fl_hub_listing *ls) {
    char *url = fmt("%s/api/models/%s/tree/%s?recursive=true", pl->endpoint, pl->ref.repo, commit);
    flint_status s = url ? FLINT_OK : fl_errorf(FLINT_E_NOMEM, "out of memory");
    for (int page = 0; !s && url; page++) {
        if (page == MAX_PAGES) {
            s = fl_errorf(FLINT_E_FORMAT, "%s: the tree listing goes on past %d pages", pl->ref.repo, MAX_PAGES);
            break;
        }
        fl_hub_reply r;
        s = fl_hub_get_json(&pl->http, url, MAX_JSON, &r);
        if (s) break;
        if (r.status != 200) s = refusal(pl, &r, NULL);
        if (!s) s = fl_hub_listing_parse(ls, r.body, r.len);
        if (s) fl_error_prefix(s, url);
        char *next = r.link_next;
        r.link_next = NULL;
        fl_hub_reply_free(&r);
        if (next && !strcmp(next, url) && !s)
            s = fl_errorf(FLINT_E_FORMAT, "%s: the listing's next page is the page itself", url);
        free(url);
        url = next;
    }
    free(url);
    return s ? s : fl_hub_listing_finish(ls);
}

/* the hash the listing promised: sha256 of the bytes (LFS) or git's sha1 of "blob <size>\0" + bytes */
static flint_status verify(const char *path, const fl_hub_entry *e, const char *repo) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return fl_errorf(FLINT_E_IO, "cannot read %s: %s", path, strerror(errno));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool git = !e->lfs;
    const EVP_MD *md = git && strlen(e->blob) == 40 ? EVP_sha1() : EVP_sha256();
    flint_status s = ctx && EVP_DigestInit_ex(ctx, md, NULL) ? FLINT_OK : fl_errorf(FLINT_E_NOMEM, "out of memory");
    if (!s && git) {
        char head[64];
        int n = snprintf(head, sizeof head, "blob %" PRIu64, e->size);
        EVP_DigestUpdate(ctx, head, (size_t)n + 1); /* with its NUL */
    }
    unsigned char *buf = malloc(1 << 20);
    if (!s && !buf) s = fl_errorf(FLINT_E_NOMEM, "out of memory");
    for (ssize_t n; !s && (n = read(fd, buf, sizeof buf)) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) s = fl_errorf(FLINT_E_IO, "cannot read %s: %s", path, strerror(errno));
        else EVP_DigestUpdate(ctx, buf, (size_t)n);
    }
    unsigned char md_out[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1] = "";
    if (!s && EVP_DigestFinal_ex(ctx, md_out, &md_len))
        for (unsigned i = 0; i < md_len; i++) sprintf(hex + 2 * i, "%02x", md_out[i]);
    if (!s && strcmp(hex, e->blob))
        s = fl_errorf(FLINT_E_FORMAT, "%s: '%s' arrived with %s %s, but the listing gives %s: refused (discarded)",
                      repo, e->path, e->lfs ? "sha256" : "git blob id", hex, e->blob);
    EVP_MD_CTX_free(ctx);
    free(buf);
    close(fd);
    return s;
}

static void on_progress(void *ud, uint64_t have, uint64_t total) {
    puller *pl = ud;
    if (pl->p->progress) pl->p->progress(pl->p->ud, pl->file, have, total);
}

static uint64_t file_size(const char *path, bool *is_file) {
    struct stat st;
    *is_file = stat(path, &st) == 0 && S_ISREG(st.st_mode);
    return *is_file ? (uint64_t)st.st_size : 0;
}

/* blobs/<id>.incomplete downloaded (resumed where it ends), verified and renamed to blobs/<id> */
static flint_status download(puller *pl, const char *commit, const fl_hub_entry *e, const char *blob) {
    char *part = fmt("%s.incomplete", blob), *name = url_escape(e->path, true);
    char *url = name ? fmt("%s/%s/resolve/%s/%s", pl->endpoint, pl->ref.repo, commit, name) : NULL;
    int fd = url && part ? open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0644) : -1;
    flint_status s = !url || !part ? fl_errorf(FLINT_E_NOMEM, "out of memory")
                     : fd < 0      ? fl_errorf(FLINT_E_IO, "cannot create %s: %s", part, strerror(errno))
                                   : FLINT_OK;
    struct stat st;
    uint64_t have = !s && fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    if (!s && have > e->size && ftruncate(fd, 0) == 0) have = 0; /* not a prefix of this file */
    pl->file = e->path;
    uint64_t best = have; /* the most the file has had: progress is passing it */
    for (int fails = 0; !s && have < e->size;) {
        bool cut = false; /* no reply, or a short one: worth resuming */
        fl_hub_reply r;
        s = fl_hub_get_file(&pl->http, url, fd, &have, e->size, &r);
        if (s == FLINT_E_IO) {
            cut = true;
        } else if (!s && r.status == 416 && have > 0) { /* the partial file is no prefix the server knows */
            if (ftruncate(fd, 0)) s = fl_errorf(FLINT_E_IO, "cannot truncate %s: %s", part, strerror(errno));
            have = 0;
        } else if (!s && (r.status < 200 || r.status > 299)) {
            s = refusal(pl, &r, e->path);
        } else if (!s && r.commit[0] && strcmp(r.commit, commit)) { /* the hub's own reply names its commit */
            s = fl_errorf(FLINT_E_FORMAT, "%s: '%s' came from commit %s, not %s: refused (discarded)", pl->ref.repo,
                          e->path, r.commit, commit);
            if (ftruncate(fd, 0)) s = fl_errorf(FLINT_E_IO, "cannot truncate %s: %s", part, strerror(errno));
        } else if (!s && have < e->size) {
            s = fl_errorf(FLINT_E_IO, "%s: '%s' ended after %" PRIu64 " of %" PRIu64 " bytes", pl->ref.repo, e->path,
                          have, e->size);
            cut = true;
        }
        fl_hub_reply_free(&r);
        /* a cut connection resumes: again at once while bytes keep coming, up to MAX_TRIES without */
        fails = have > best ? 0 : fails + 1;
        if (have > best) best = have;
        if (cut && fails < MAX_TRIES) s = FLINT_OK;
        else if (cut) fl_error_prefix(s, "the download stopped (run `flint pull` again to resume it)");
    }
    if (fd >= 0) close(fd);
    if (!s && (s = verify(part, e, pl->ref.repo))) unlink(part);
    if (!s && rename(part, blob)) s = fl_errorf(FLINT_E_IO, "cannot rename %s: %s", part, strerror(errno));
    free(url);
    free(name);
    free(part);
    return s;
}

/* snapshots/<commit>/<path> -> ../../blobs/<id> (one more "../" per folder in path), replaced if it differs */
static flint_status link_file(const char *snap, const fl_hub_entry *e) {
    char *ptr = fmt("%s/%s", snap, e->path), *tmp = NULL;
    size_t depth = 2;
    for (const char *c = e->path; *c; c++) depth += *c == '/';
    char *target = malloc(depth * 3 + strlen(e->blob) + 8);
    flint_status s = ptr && target ? FLINT_OK : fl_errorf(FLINT_E_NOMEM, "out of memory");
    if (!s) {
        target[0] = 0;
        for (size_t i = 0; i < depth; i++) strcat(target, "../");
        strcat(target, "blobs/");
        strcat(target, e->blob);
        *strrchr(ptr, '/') = 0;
        s = make_dirs(ptr);
        ptr[strlen(ptr)] = '/';
    }
    char old[4096];
    ssize_t n = s ? -1 : readlink(ptr, old, sizeof old - 1);
    if (n >= 0) old[n] = 0;
    if (!s && !(n >= 0 && !strcmp(old, target))) {
        tmp = fmt("%s.flint-%ld.tmp", ptr, (long)getpid());
        if (!tmp) s = fl_errorf(FLINT_E_NOMEM, "out of memory");
        else if (unlink(tmp), symlink(target, tmp) || rename(tmp, ptr))
            s = fl_errorf(FLINT_E_IO, "cannot link %s to %s: %s", ptr, target, strerror(errno));
    }
    free(tmp);
    free(target);
    free(ptr);
    return s;
}

/* one chosen file: reused from blobs/ when there, else downloaded under the blob's lock */
static flint_status fetch(puller *pl, const char *commit, const char *snap, const fl_hub_entry *e, bool *fetched) {
    char *blob = fmt("%s/blobs/%s", pl->repo_dir, e->blob), *lock = fmt("%s/%s.lock", pl->lock_dir, e->blob);
    flint_status s = blob && lock ? FLINT_OK : fl_errorf(FLINT_E_NOMEM, "out of memory");
    bool is_file;
    *fetched = false;
    if (!s && (file_size(blob, &is_file) != e->size || !is_file)) {
        int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (lfd < 0 || flock(lfd, LOCK_EX))
            s = fl_errorf(FLINT_E_IO, "cannot lock %s: %s", lock, strerror(errno));
        /* another process may have finished it while we waited */
        else if (file_size(blob, &is_file) != e->size || !is_file) {
            s = download(pl, commit, e, blob);
            *fetched = !s;
        }
        if (lfd >= 0) close(lfd);
    }
    if (!s) s = link_file(snap, e);
    free(blob);
    free(lock);
    return s;
}

/* refs/<revision> = commit, written whole (a temporary renamed) when it changes */
static flint_status write_ref(puller *pl, const char *commit) {
    if (!strcmp(pl->revision, commit)) return FLINT_OK;
    char cur[72];
    if (!fl_hub_read_ref(pl->repo_dir, pl->revision, cur, sizeof cur) && !strcmp(cur, commit)) return FLINT_OK;
    fl_error_clear();
    char *ref = fmt("%s/refs/%s", pl->repo_dir, pl->revision);
    char *tmp = ref ? fmt("%s.flint-%ld.tmp", ref, (long)getpid()) : NULL;
    flint_status s = tmp ? FLINT_OK : fl_errorf(FLINT_E_NOMEM, "out of memory");
    if (!s) {
        *strrchr(ref, '/') = 0;
        s = make_dirs(ref);
        ref[strlen(ref)] = '/';
    }
    FILE *f = s ? NULL : fopen(tmp, "wb");
    bool ok = f && fputs(commit, f) >= 0;
    if (f && fclose(f)) ok = false;
    if (!s && (!ok || rename(tmp, ref))) s = fl_errorf(FLINT_E_IO, "cannot write %s: %s", ref, strerror(errno));
    free(tmp);
    free(ref);
    return s;
}

static flint_status pull(puller *pl, fl_hub_pull_result *res) {
    const fl_hub_pull_params *p = pl->p;
    flint_status s = fl_hub_parse_ref(p->spec, &pl->ref);
    if (s) return s;
    pl->revision = p->revision ? p->revision : "main";
    const char *why = fl_hub_path_problem(pl->revision, strlen(pl->revision));
    if (why) return fl_errorf(FLINT_E_INVALID_ARG, "--revision '%s' %s", pl->revision, why);
    const char *off = getenv("HF_HUB_OFFLINE");
    if (off && (!strcmp(off, "1") || !strcasecmp(off, "true") || !strcasecmp(off, "yes") || !strcasecmp(off, "on")))
        return fl_errorf(FLINT_E_INVALID_ARG, "HF_HUB_OFFLINE is set: flint pull needs the hub");
    const char *ep = getenv("HF_ENDPOINT");
    pl->endpoint = strdup(ep && *ep ? ep : "https://huggingface.co");
    if (!pl->endpoint) return fl_errorf(FLINT_E_NOMEM, "out of memory");
    for (size_t n = strlen(pl->endpoint); n > 0 && pl->endpoint[n - 1] == '/';) pl->endpoint[--n] = 0;
    pl->token = fl_hub_token();
    if (!(pl->cache = fl_hub_cache_dir())) return FLINT_E_NOT_FOUND;
    pl->repo_dir = fl_hub_repo_dir(pl->cache, pl->ref.repo);
    pl->lock_dir = fl_hub_lock_dir(pl->cache, pl->ref.repo);
    if (!pl->repo_dir || !pl->lock_dir) return fl_errorf(FLINT_E_NOMEM, "out of memory");
    pl->http = (fl_hub_http){.endpoint = pl->endpoint, .token = pl->token, .progress = on_progress, .ud = pl};

    if ((s = find_commit(pl, res->commit))) return s;
    fl_hub_listing ls = {0};
    const char **paths = NULL;
    bool *pick = NULL;
    int64_t model = -1;
    s = list_files(pl, res->commit, &ls);
    if (!s) {
        paths = malloc((size_t)(ls.n + 1) * sizeof *paths);
        pick = malloc((size_t)(ls.n + 1) * sizeof *pick);
        if (!paths || !pick) s = fl_errorf(FLINT_E_NOMEM, "out of memory");
    }
    if (!s) {
        for (int64_t i = 0; i < ls.n; i++) paths[i] = ls.v[i].path;
        fl_hub_choice c = {.repo = pl->ref.repo, .quant = pl->ref.quant[0] ? pl->ref.quant : NULL,
                           .include = p->include, .n_include = p->n_include};
        s = fl_hub_select(&c, paths, ls.n, pick, &model);
    }
    char *blobs = s ? NULL : fmt("%s/blobs", pl->repo_dir);
    res->snapshot = s ? NULL : fmt("%s/snapshots/%s", pl->repo_dir, res->commit);
    if (!s && (!blobs || !res->snapshot)) s = fl_errorf(FLINT_E_NOMEM, "out of memory");
    if (!s) s = make_dirs(blobs);
    if (!s) s = make_dirs(res->snapshot);
    if (!s) s = make_dirs(pl->lock_dir);
    for (int64_t i = 0; i < ls.n && !s; i++) {
        if (!pick[i]) continue;
        bool fetched;
        s = fetch(pl, res->commit, res->snapshot, &ls.v[i], &fetched);
        if (s) break;
        res->n_files++;
        res->n_fetched += fetched;
        res->bytes_fetched += fetched ? ls.v[i].size : 0;
        if (p->done) p->done(p->ud, ls.v[i].path, ls.v[i].size, fetched);
    }
    if (!s) s = write_ref(pl, res->commit);
    if (!s) res->model = model >= 0 ? fmt("%s/%s", res->snapshot, ls.v[model].path) : strdup(res->snapshot);
    if (!s && !res->model) s = fl_errorf(FLINT_E_NOMEM, "out of memory");
    free(blobs);
    free(paths);
    free(pick);
    fl_hub_listing_free(&ls);
    return s;
}

flint_status fl_hub_pull(const fl_hub_pull_params *p, fl_hub_pull_result *res) {
    memset(res, 0, sizeof *res);
    puller pl = {.p = p};
    flint_status s = pull(&pl, res);
    if (s) fl_hub_pull_result_free(res);
    free(pl.endpoint);
    free(pl.token);
    free(pl.cache);
    free(pl.repo_dir);
    free(pl.lock_dir);
    return s;
}

void fl_hub_pull_result_free(fl_hub_pull_result *res) {
    free(res->snapshot);
    free(res->model);
    res->snapshot = res->model = NULL;
}
