/* cache.c — paths of the hub cache and the offline resolution of
 * `-m ORG/NAME[:QUANT]` (see cache.h). Reads the file system only. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* DT_DIR */
#include "hub/cache.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "base/file.h"
#include "hub/listing.h"
#include "hub/select.h"

static bool word_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static bool name_char(char c) {
    return word_char(c) || c == '-' || c == '.';
}

/* one of ORG, NAME: [A-Za-z0-9._-]{1,96} starting and ending with a word character */
static bool good_name(const char *s, size_t n) {
    if (n == 0 || n > FL_HUB_MAX_NAME_PART || !word_char(s[0]) || !word_char(s[n - 1])) return false;
    for (size_t i = 0; i < n; i++)
        if (!name_char(s[i])) return false;
    return true;
}

static flint_status parse_ref(const char *spec, fl_hub_ref *r, bool say) {
    memset(r, 0, sizeof *r);
    const char *colon = strchr(spec, ':'), *slash = strchr(spec, '/');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    const char *why = NULL;
    size_t n_slash = 0;
    for (size_t i = 0; i < n; i++) n_slash += spec[i] == '/';
    if (n_slash != 1)
        why = "is not ORG/NAME";
    else if (!good_name(spec, (size_t)(slash - spec)) || !good_name(slash + 1, (size_t)(spec + n - slash - 1)))
        why = "has a name that is not 1 to 96 letters, digits, '_', '-' and '.' starting and ending with a letter "
              "or digit";
    else {
        memcpy(r->repo, spec, n);
        if (strstr(r->repo, "--") || strstr(r->repo, "..")) why = "holds '--' or '..'";
        else if (n >= 4 && !strcmp(r->repo + n - 4, ".git")) why = "ends in '.git'";
    }
    if (!why && colon) {
        size_t k = strlen(colon + 1);
        bool ok = k > 0 && k < sizeof r->quant;
        for (size_t i = 0; ok && i < k; i++) ok = name_char(colon[1 + i]);
        if (ok) memcpy(r->quant, colon + 1, k + 1);
        else why = "has a :QUANT tag that is not letters, digits, '_', '-' and '.'";
    }
    if (!why) return FLINT_OK;
    return say ? fl_errorf(FLINT_E_INVALID_ARG, "'%s' %s (a Hugging Face repository is ORG/NAME[:QUANT])", spec, why)
               : FLINT_E_INVALID_ARG;
}

flint_status fl_hub_parse_ref(const char *spec, fl_hub_ref *r) {
    return parse_ref(spec, r, true);
}

bool fl_hub_is_ref(const char *spec) {
    fl_hub_ref r;
    return parse_ref(spec, &r, false) == FLINT_OK;
}

/* a new string: a + b (+ c) */
static char *concat(const char *a, const char *b, const char *c) {
    size_t la = strlen(a), lb = strlen(b), lc = c ? strlen(c) : 0;
    char *s = malloc(la + lb + lc + 1);
    if (!s) return NULL;
    memcpy(s, a, la);
    memcpy(s + la, b, lb);
    memcpy(s + la + lb, c ? c : "", lc + 1);
    return s;
}

/* an environment variable's value with a leading "~/" expanded; NULL when unset or empty */
static char *env_path(const char *name, const char *suffix) {
    const char *v = getenv(name);
    if (!v || !*v) return NULL;
    const char *home = getenv("HOME");
    if (v[0] == '~' && (v[1] == '/' || !v[1]) && home) return concat(home, v + 1, suffix);
    return concat(v, "", suffix);
}

char *fl_hub_cache_dir(void) {
    char *d = env_path("HF_HUB_CACHE", NULL);
    if (!d) d = env_path("HUGGINGFACE_HUB_CACHE", NULL);
    if (!d) d = env_path("HF_HOME", "/hub");
    if (!d) d = env_path("XDG_CACHE_HOME", "/huggingface/hub");
    if (!d) d = env_path("HOME", "/.cache/huggingface/hub");
    if (!d) fl_errorf(FLINT_E_NOT_FOUND, "no Hugging Face cache: set HF_HUB_CACHE, HF_HOME or HOME");
    return d;
}

static char *repo_folder(const char *cache, const char *mid, const char *repo) {
    const char *slash = strchr(repo, '/');
    char *s = malloc(strlen(cache) + strlen(mid) + strlen(repo) + 16);
    if (s) sprintf(s, "%s%smodels--%.*s--%s", cache, mid, (int)(slash - repo), repo, slash + 1);
    return s;
}

char *fl_hub_repo_dir(const char *cache, const char *repo) {
    return repo_folder(cache, "/", repo);
}

char *fl_hub_lock_dir(const char *cache, const char *repo) {
    return repo_folder(cache, "/.locks/", repo);
}

char *fl_hub_token(void) {
    const char *t = getenv("HF_TOKEN");
    if (t && *t) return concat(t, "", NULL);
    char *path = env_path("HF_TOKEN_PATH", NULL);
    if (!path) path = env_path("HF_HOME", "/token");
    if (!path) path = env_path("XDG_CACHE_HOME", "/huggingface/token");
    if (!path) path = env_path("HOME", "/.cache/huggingface/token");
    char *buf = NULL;
    uint64_t len = 0;
    if (path && fl_exists(path) && fl_read_file(path, 4096, &buf, &len) == FLINT_OK) {
        buf[strcspn(buf, "\r\n")] = 0;
        if (!buf[0]) {
            free(buf);
            buf = NULL;
        }
    }
    fl_error_clear();
    free(path);
    return buf;
}

flint_status fl_hub_read_ref(const char *repo_dir, const char *rev, char *commit, size_t cap) {
    char *p = concat(repo_dir, "/refs/", rev);
    if (!p) return fl_errorf(FLINT_E_NOMEM, "out of memory");
    char *buf = NULL;
    uint64_t len = 0;
    flint_status s = fl_exists(p) ? fl_read_file(p, 256, &buf, &len) : fl_errorf(FLINT_E_NOT_FOUND, "no %s", p);
    /* huggingface_hub writes the bare commit; a newline from a hand edit is forgiven */
    while (!s && len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) buf[--len] = 0;
    if (!s && (len == 0 || len >= cap || fl_hub_path_problem(buf, len) || strchr(buf, '/')))
        s = fl_errorf(FLINT_E_FORMAT, "%s does not hold a commit id", p);
    if (!s) memcpy(commit, buf, len + 1);
    free(buf);
    free(p);
    return s;
}

/* The regular files under dir (symlinks followed), as paths relative to it */
typedef struct file_list {
    char **v;
    int64_t n, cap;
} file_list;

static flint_status scan(const char *root, const char *rel, int depth, file_list *fl) {
    char *dir = rel[0] ? concat(root, "/", rel) : concat(root, "", NULL);
    if (!dir) return fl_errorf(FLINT_E_NOMEM, "out of memory");
    DIR *d = opendir(dir);
    flint_status s = d ? FLINT_OK : fl_errorf(FLINT_E_IO, "cannot read the folder %s", dir);
    for (struct dirent *e; !s && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char *r = rel[0] ? concat(rel, "/", e->d_name) : concat(e->d_name, "", NULL);
        char *full = r ? concat(root, "/", r) : NULL;
        struct stat st, lst;
        if (!full) s = fl_errorf(FLINT_E_NOMEM, "out of memory");
        else if (lstat(full, &lst) == 0 && S_ISDIR(lst.st_mode)) {
            if (depth < 16) s = scan(root, r, depth + 1, fl);
        } else if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
            if (fl->n == fl->cap) {
                int64_t cap = fl->cap ? fl->cap * 2 : 32;
                char **v = cap <= FL_HUB_MAX_FILES ? realloc(fl->v, (size_t)cap * sizeof *v) : NULL;
                if (!v) s = fl_errorf(FLINT_E_NOMEM, "%s: too many files", root);
                else {
                    fl->v = v;
                    fl->cap = cap;
                }
            }
            if (!s) {
                fl->v[fl->n++] = r;
                r = NULL;
            }
        }
        free(r);
        free(full);
    }
    if (d) closedir(d);
    free(dir);
    return s;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

flint_status fl_hub_resolve(const char *spec, char **path) {
    *path = NULL;
    fl_hub_ref ref;
    flint_status s = fl_hub_parse_ref(spec, &ref);
    if (s) return s;
    char *cache = fl_hub_cache_dir();
    if (!cache) return FLINT_E_NOT_FOUND;
    char *repo_dir = fl_hub_repo_dir(cache, ref.repo), commit[72], *snap = NULL;
    file_list fl = {0};
    if (!repo_dir) s = fl_errorf(FLINT_E_NOMEM, "out of memory");
    else if ((s = fl_hub_read_ref(repo_dir, "main", commit, sizeof commit))) {
        if (s == FLINT_E_NOT_FOUND)
            s = fl_errorf(FLINT_E_NOT_FOUND, "'%s' is not a file, and %s is not in the Hugging Face cache (%s): "
                          "download it with `flint pull %s`", spec, ref.repo, cache, spec);
    } else if (!(snap = malloc(strlen(repo_dir) + strlen(commit) + 16)))
        s = fl_errorf(FLINT_E_NOMEM, "out of memory");
    else {
        sprintf(snap, "%s/snapshots/%s", repo_dir, commit);
        if (!fl_is_dir(snap))
            s = fl_errorf(FLINT_E_NOT_FOUND, "%s: refs/main names commit %s, which has no snapshot %s: run `flint pull %s`",
                          ref.repo, commit, snap, spec);
        else s = scan(snap, "", 0, &fl);
    }
    if (!s && fl.n > 1) qsort(fl.v, (size_t)fl.n, sizeof *fl.v, cmp_str);
    bool *pick = s ? NULL : calloc((size_t)fl.n + 1, sizeof *pick);
    if (!s && !pick) s = fl_errorf(FLINT_E_NOMEM, "out of memory");
    int64_t model = -1;
    if (!s) {
        fl_hub_choice c = {.repo = ref.repo, .quant = ref.quant[0] ? ref.quant : NULL};
        bool folder = false;
        for (int64_t i = 0; i < fl.n; i++) folder |= !strcmp(fl.v[i], "config.json");
        /* a folder with config.json is the model unless a :QUANT asks for a GGUF in it */
        if (!folder || c.quant) s = fl_hub_select(&c, (const char *const *)fl.v, fl.n, pick, &model);
        if (!s && model >= 0) *path = concat(snap, "/", fl.v[model]);
        else if (!s) *path = concat(snap, "", NULL);
        if (!s && !*path) s = fl_errorf(FLINT_E_NOMEM, "out of memory");
        if (s) fl_error_prefix(s, "in the cache");
    }
    for (int64_t i = 0; i < fl.n; i++) free(fl.v[i]);
    free(fl.v);
    free(pick);
    free(snap);
    free(repo_dir);
    free(cache);
    return s;
}
