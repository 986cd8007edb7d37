/* test_hub.c — the pure pieces of `flint pull` (src/hub/): which paths a
 * listing may name, the Link header, the listing parser, repo ids, which
 * files are chosen (llama.cpp's :QUANT rule, splits, the folder set), where
 * the cache is, and -m ORG/NAME resolved from a cache made here. The
 * protocol itself is tested against huggingface_hub in tests/hub/. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "hub/cache.h"
#include "hub/listing.h"
#include "hub/select.h"

static void test_paths(void) {
    TEST_GROUP("paths");
    const char *good[] = {"config.json", "a/b/c.gguf", "..a", "a..", ".gitattributes", "a/.b", "Q4_K_M/x-00001-of-00002.gguf"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECK_MSG(!fl_hub_path_problem(good[i], strlen(good[i])), "%s", good[i]);
    const char *bad[] = {"", "/etc/passwd", "..", "../x", "a/../b", "a/..", "./a", "a/./b", "a//b", "a/", "a\\b", "a\nb",
                         "a\x7f"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_MSG(fl_hub_path_problem(bad[i], strlen(bad[i])) != NULL, "'%s' accepted", bad[i]);
    CHECK(fl_hub_path_problem("a\0b", 3) != NULL); /* a NUL inside */
    char name[300];
    memset(name, 'a', sizeof name);
    name[256] = 0;
    CHECK(fl_hub_path_problem(name, 256) != NULL);
    name[255] = 0;
    CHECK(fl_hub_path_problem(name, 255) == NULL);
}

static void test_link(void) {
    TEST_GROUP("link");
    char *n = fl_hub_link_next("<https://h/api/models/a/b/tree/main?cursor=x&recursive=true>; rel=\"next\"");
    CHECK(n && !strcmp(n, "https://h/api/models/a/b/tree/main?cursor=x&recursive=true"));
    free(n);
    n = fl_hub_link_next("<https://h/first>; rel=\"first\", <https://h/p,2>; rel=next");
    CHECK(n && !strcmp(n, "https://h/p,2"));
    free(n);
    CHECK(fl_hub_link_next("<https://h/last>; rel=\"last\"") == NULL);
    CHECK(fl_hub_link_next("<https://h/x>; rel=\"nextish\"") == NULL);
    CHECK(fl_hub_link_next("garbage <no end") == NULL);
}

static void test_listing(void) {
    TEST_GROUP("listing");
    const char *page1 = "[{\"type\":\"directory\",\"oid\":\"0\",\"size\":0,\"path\":\"docs\"},"
                        "{\"type\":\"file\",\"oid\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"size\":7,\"path\":\"z.md\"},"
                        "{\"type\":\"file\",\"oid\":\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\"size\":9,\"path\":\"m.gguf\","
                        "\"lfs\":{\"oid\":\"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\",\"size\":9}}]";
    const char *page2 = "[{\"type\":\"file\",\"oid\":\"dddddddddddddddddddddddddddddddddddddddd\",\"size\":1,\"path\":\"docs/a\"}]";
    fl_hub_listing ls = {0};
    CHECK(fl_hub_listing_parse(&ls, page1, strlen(page1)) == FLINT_OK);
    CHECK(fl_hub_listing_parse(&ls, page2, strlen(page2)) == FLINT_OK);
    CHECK(fl_hub_listing_finish(&ls) == FLINT_OK);
    CHECK_INT_EQ(ls.n, 3);
    if (ls.n == 3) {
        CHECK_STR_EQ(ls.v[0].path, "docs/a");
        CHECK_STR_EQ(ls.v[1].path, "m.gguf");
        CHECK(ls.v[1].lfs && ls.v[1].size == 9 && ls.v[1].blob[0] == 'c' && strlen(ls.v[1].blob) == 64);
        CHECK(!ls.v[2].lfs && ls.v[2].blob[0] == 'a' && strlen(ls.v[2].blob) == 40);
    }
    fl_hub_listing_free(&ls);
#define OID "\"oid\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""
    const struct {
        const char *page, *why;
    } bad[] = {
        {"[{\"type\":\"file\"," OID ",\"size\":1,\"path\":\"../x\"}]", "'..'"},
        {"[{\"type\":\"file\"," OID ",\"size\":1,\"path\":\"a\\u0000b\"}]", "NUL"},
        {"[{\"type\":\"file\"," OID ",\"size\":-1,\"path\":\"a\"}]", "size"},
        {"[{\"type\":\"file\"," OID ",\"size\":1.5,\"path\":\"a\"}]", "size"},
        {"[{\"type\":\"file\"," OID ",\"size\":1}]", "path"},
        {"[{\"type\":\"symlink\"," OID ",\"size\":1,\"path\":\"a\"}]", "neither"},
        {"[{\"type\":\"file\"," OID ",\"size\":1,\"path\":\"a\",\"lfs\":{\"oid\":\"x\",\"size\":1}}]", "sha256"},
        {"[{\"type\":\"file\",\"oid\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"size\":1,\"path\":\"a\"}]", "oid"},
        {"[1]", "not an object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        fl_hub_listing l2 = {0};
        CHECK_FAILS(fl_hub_listing_parse(&l2, bad[i].page, strlen(bad[i].page)), FLINT_E_FORMAT, bad[i].why);
        fl_hub_listing_free(&l2);
    }
    const char *dup = "[{\"type\":\"file\",\"oid\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"size\":1,\"path\":\"a\"},"
                      "{\"type\":\"file\",\"oid\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"size\":1,\"path\":\"a\"}]";
    CHECK(fl_hub_listing_parse(&ls, dup, strlen(dup)) == FLINT_OK);
    CHECK_FAILS(fl_hub_listing_finish(&ls), FLINT_E_FORMAT, "twice");
    fl_hub_listing_free(&ls);
    const char *clash = "[{\"type\":\"file\",\"oid\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"size\":1,\"path\":\"a/b/c\"},"
                        "{\"type\":\"file\",\"oid\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"size\":1,\"path\":\"a!\"},"
                        "{\"type\":\"file\",\"oid\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"size\":1,\"path\":\"a/b\"}]";
    CHECK(fl_hub_listing_parse(&ls, clash, strlen(clash)) == FLINT_OK);
    CHECK_FAILS(fl_hub_listing_finish(&ls), FLINT_E_FORMAT, "'a/b' is both a file and the folder of 'a/b/c'");
    fl_hub_listing_free(&ls);
    CHECK_FAILS(fl_hub_listing_parse(&ls, "{}", 2), FLINT_E_FORMAT, "array");
    CHECK_FAILS(fl_hub_listing_parse(&ls, "<html>", 6), FLINT_E_FORMAT, "JSON");
    fl_hub_listing_free(&ls);
}

static void test_refs(void) {
    TEST_GROUP("refs");
    fl_hub_ref r;
    CHECK(fl_hub_parse_ref("google/gemma-3-270m", &r) == FLINT_OK && !strcmp(r.repo, "google/gemma-3-270m") && !r.quant[0]);
    CHECK(fl_hub_parse_ref("unsloth/Qwen3.5-0.8B-GGUF:Q4_K_M", &r) == FLINT_OK &&
          !strcmp(r.repo, "unsloth/Qwen3.5-0.8B-GGUF") && !strcmp(r.quant, "Q4_K_M"));
    const char *bad[] = {"gemma", "a/b/c", "/a", "a/", "-a/b", "a/b.", "a--x/b", "a/b..c", "a/b:", "a/b:Q 4", "a b/c",
                         "../x", "a/b:x/y"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_MSG(fl_hub_parse_ref(bad[i], &r) == FLINT_E_INVALID_ARG, "'%s' accepted", bad[i]);
        CHECK(!fl_hub_is_ref(bad[i]));
    }
    char longid[200] = "org/";
    memset(longid + 4, 'n', 97);
    longid[101] = 0;
    CHECK(!fl_hub_is_ref(longid)); /* a NAME of 97 bytes */
    longid[100] = 0;
    CHECK(fl_hub_is_ref(longid));
    CHECK(!fl_hub_is_ref("org/name.git"));
}

/* select over a NULL-terminated list; returns the picks as "a,b" and the model index */
static flint_status pick(const char *quant, const char *const *include, int32_t n_include, const char *const *paths,
                         char *out, int64_t *model) {
    int64_t n = 0;
    while (paths[n]) n++;
    bool sel[32];
    fl_hub_choice c = {.repo = "o/n", .quant = quant, .include = include, .n_include = n_include};
    flint_status s = fl_hub_select(&c, paths, n, sel, model);
    out[0] = 0;
    for (int64_t i = 0; !s && i < n; i++)
        if (sel[i]) strcat(strcat(out, out[0] ? "," : ""), paths[i]);
    return s;
}

static void test_select(void) {
    TEST_GROUP("select");
    char got[1024];
    int64_t model;
    const char *gguf[] = {"README.md", "m-Q4_K_M-00001-of-00002.gguf", "m-Q4_K_M-00002-of-00002.gguf", "m-Q8_0.gguf",
                          "m-IQ4_XS.gguf", "mmproj-m-f16.gguf", "imatrix.gguf", NULL};
    CHECK(pick("q4_k_m", NULL, 0, gguf, got, &model) == FLINT_OK);
    CHECK_STR_EQ(got, "m-Q4_K_M-00001-of-00002.gguf,m-Q4_K_M-00002-of-00002.gguf");
    CHECK_INT_EQ(model, 1);
    CHECK(pick("Q8_0", NULL, 0, gguf, got, &model) == FLINT_OK && !strcmp(got, "m-Q8_0.gguf") && model == 3);
    CHECK_FAILS(pick("Q4_K", NULL, 0, gguf, got, &model), FLINT_E_NOT_FOUND, "no GGUF file for 'Q4_K'");
    CHECK(pick("xs", NULL, 0, gguf, got, &model) == FLINT_OK && !strcmp(got, "m-IQ4_XS.gguf")); /* between separators */
    CHECK_FAILS(pick("Q4", NULL, 0, gguf, got, &model), FLINT_E_NOT_FOUND, "m-Q8_0.gguf"); /* Q4_, IQ4: no */
    CHECK_FAILS(pick(NULL, NULL, 0, gguf, got, &model), FLINT_E_INVALID_ARG, "3 GGUF models; choose one as o/n:QUANT");
    CHECK(strstr(flint_errmsg(), "mmproj") == NULL);
    const char *one[] = {"README.md", "x-F16.gguf", "mmproj.gguf", NULL};
    CHECK(pick(NULL, NULL, 0, one, got, &model) == FLINT_OK && !strcmp(got, "x-F16.gguf") && model == 1);
    const char *holed[] = {"m-00001-of-00003.gguf", "m-00003-of-00003.gguf", NULL};
    CHECK_FAILS(pick(NULL, NULL, 0, holed, got, &model), FLINT_E_NOT_FOUND, "split in 3 files, but 2");
    const char *st[] = {".gitattributes", "README.md", "chat_template.jinja", "config.json", "generation_config.json",
                        "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                        "model.safetensors.index.json", "onnx/model.safetensors", "tokenizer.json",
                        "tokenizer_config.json", "m-Q8_0.gguf", NULL};
    CHECK(pick(NULL, NULL, 0, st, got, &model) == FLINT_OK && model == -1);
    CHECK_STR_EQ(got, "chat_template.jinja,config.json,generation_config.json,model-00001-of-00002.safetensors,"
                      "model-00002-of-00002.safetensors,model.safetensors.index.json,tokenizer.json,tokenizer_config.json");
    CHECK(pick("Q8_0", NULL, 0, st, got, &model) == FLINT_OK && !strcmp(got, "m-Q8_0.gguf"));
    const char *globs[] = {"*.md", "onnx/*"};
    CHECK(pick(NULL, globs, 2, st, got, &model) == FLINT_OK && !strcmp(got, "README.md,onnx/model.safetensors"));
    const char *none[] = {"*.bin"};
    CHECK_FAILS(pick(NULL, none, 1, st, got, &model), FLINT_E_NOT_FOUND, "--include *.bin");
    const char *empty[] = {"README.md", NULL};
    CHECK_FAILS(pick(NULL, NULL, 0, empty, got, &model), FLINT_E_NOT_FOUND, "neither");
}

static void put(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_cache(void) {
    TEST_GROUP("cache");
    const char *vars[] = {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "HOME"};
    char *saved[5];
    for (int i = 0; i < 5; i++) saved[i] = getenv(vars[i]) ? strdup(getenv(vars[i])) : NULL;
    for (int i = 0; i < 5; i++) unsetenv(vars[i]);
    setenv("HOME", "/h", 1);
    char *d = fl_hub_cache_dir();
    CHECK(d && !strcmp(d, "/h/.cache/huggingface/hub"));
    free(d);
    setenv("XDG_CACHE_HOME", "/x", 1);
    d = fl_hub_cache_dir();
    CHECK(d && !strcmp(d, "/x/huggingface/hub"));
    free(d);
    setenv("HF_HOME", "~/hf", 1);
    d = fl_hub_cache_dir();
    CHECK(d && !strcmp(d, "/h/hf/hub"));
    free(d);
    setenv("HUGGINGFACE_HUB_CACHE", "/legacy", 1);
    d = fl_hub_cache_dir();
    CHECK(d && !strcmp(d, "/legacy"));
    free(d);
    setenv("HF_HUB_CACHE", "/new", 1);
    d = fl_hub_cache_dir();
    CHECK(d && !strcmp(d, "/new"));
    free(d);
    d = fl_hub_repo_dir("/c", "google/gemma-3-270m");
    CHECK(d && !strcmp(d, "/c/models--google--gemma-3-270m"));
    free(d);

    /* a cache as huggingface_hub lays it out, made here */
    char root[] = "/tmp/flint-test-hub-XXXXXX";
    CHECK(mkdtemp(root) != NULL);
    setenv("HF_HUB_CACHE", root, 1);
    char p[512], q[512];
    const char *commit = "0123456789abcdef0123456789abcdef01234567";
    snprintf(p, sizeof p, "%s/models--o--g", root);
    mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/models--o--g/refs", root);
    mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/models--o--g/refs/main", root);
    put(p, commit);
    snprintf(p, sizeof p, "%s/models--o--g/blobs", root);
    mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/models--o--g/blobs/b1", root);
    put(p, "GGUF");
    snprintf(p, sizeof p, "%s/models--o--g/snapshots", root);
    mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/models--o--g/snapshots/%s", root, commit);
    mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/models--o--g/snapshots/%s/g-Q8_0.gguf", root, commit);
    CHECK(symlink("../../blobs/b1", p) == 0);
    char *path = NULL;
    CHECK(fl_hub_resolve("o/g", &path) == FLINT_OK && path && !strcmp(path, p));
    free(path);
    CHECK(fl_hub_resolve("o/g:q8_0", &path) == FLINT_OK && path && !strcmp(path, p));
    free(path);
    path = NULL;
    CHECK_FAILS(fl_hub_resolve("o/g:Q4_0", &path), FLINT_E_NOT_FOUND, "no GGUF file for 'Q4_0'");
    snprintf(q, sizeof q, "%s/models--o--g/snapshots/%s/g-Q4_0.gguf", root, commit);
    CHECK(symlink("../../blobs/missing", q) == 0); /* dangling: not a file there */
    CHECK(fl_hub_resolve("o/g", &path) == FLINT_OK && path && !strcmp(path, p));
    free(path);
    snprintf(q, sizeof q, "%s/models--o--g/snapshots/%s/config.json", root, commit);
    put(q, "{}");
    snprintf(q, sizeof q, "%s/models--o--g/snapshots/%s", root, commit);
    CHECK(fl_hub_resolve("o/g", &path) == FLINT_OK && path && !strcmp(path, q)); /* a folder model */
    free(path);
    path = NULL;
    CHECK_FAILS(fl_hub_resolve("o/absent", &path), FLINT_E_NOT_FOUND, "flint pull o/absent");
    snprintf(p, sizeof p, "%s/models--o--g/refs/main", root);
    put(p, "../../../etc");
    CHECK_FAILS(fl_hub_resolve("o/g", &path), FLINT_E_FORMAT, "does not hold a commit");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK(system(cmd) == 0);
    for (int i = 0; i < 5; i++) {
        if (saved[i]) setenv(vars[i], saved[i], 1);
        else unsetenv(vars[i]);
        free(saved[i]);
    }
}

int main(void) {
    test_paths();
    test_link();
    test_listing();
    test_refs();
    test_select();
    test_cache();
    return test_finish("test_hub");
}
