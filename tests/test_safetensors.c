/* test_safetensors.c — the safetensors reader against files written by the
 * safetensors Python package (tests/fixtures/st, manifests from
 * tools/gen_safetensors_fixtures.py), and against hostile inputs built here. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/file.h"
#include "format/safetensors.h"
#include "harness.h"

static uint64_t fnv1a64(const void *p, uint64_t n) {
    const uint8_t *b = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint64_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static size_t unhex(const char *hex, char *out, size_t cap) {
    size_t n = 0;
    for (; hex[0] && hex[1] && n + 1 < cap; hex += 2) {
        unsigned v;
        sscanf(hex, "%2x", &v);
        out[n++] = (char)v;
    }
    out[n] = '\0';
    return n;
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Checks every line of a manifest against st; returns the tensors listed. */
static int check_manifest(const fl_st *st, const char *manifest) {
    char *text;
    uint64_t len;
    CHECK(fl_read_file(manifest, 1 << 20, &text, &len) == FLINT_OK);
    if (!text) return 0;
    int n = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *f[10];
        int nf = 0;
        for (char *p = line; nf < 10; nf++) {
            f[nf] = p;
            p = strchr(p, '\t');
            if (!p) { nf++; break; }
            *p++ = '\0';
        }
        if (strcmp(f[0], "meta") == 0 && nf == 4) {
            /* the file's __metadata__ */
            const fl_st_file *file = NULL;
            for (int32_t i = 0; i < st->n_files; i++)
                if (strcmp(base_name(st->files[i].path), f[1]) == 0) file = &st->files[i];
            CHECK_MSG(file != NULL, "no file %s", f[1]);
            if (!file) continue;
            const fl_meta_value *v = fl_meta_find(&file->meta, f[2]);
            char want[256];
            size_t wl = unhex(f[3], want, sizeof want);
            CHECK_MSG(v && v->type == FLINT_META_STRING && v->count == wl && memcmp(v->data, want, wl) == 0 &&
                          ((const char *)v->data)[wl] == '\0',
                      "metadata %s of %s", f[2], f[1]);
            continue;
        }
        CHECK_MSG(strcmp(f[0], "tensor") == 0 && nf == 10, "bad manifest line in %s", manifest);
        if (nf != 10) continue;
        n++;
        const flint_tensor_info *t = fl_st_find(st, f[2]);
        CHECK_MSG(t != NULL, "tensor '%s' missing", f[2]);
        if (!t) continue;
        CHECK_STR_EQ(t->name, f[2]);
        CHECK_STR_EQ(flint_type_name(t->type), f[3]);
        int64_t shape[FLINT_MAX_DIMS];
        int nd = 0;
        if (strcmp(f[4], "-") != 0)
            for (char *p = f[4]; *p && nd < FLINT_MAX_DIMS; nd++) {
                shape[nd] = strtoll(p, &p, 10);
                if (*p == ',') p++;
            }
        CHECK_INT_EQ(t->n_dims, nd);
        for (int i = 0; i < FLINT_MAX_DIMS; i++)
            CHECK_INT_EQ(t->ne[i], i < nd ? shape[nd - 1 - i] : 1);
        uint64_t abs = strtoull(f[7], NULL, 10), nbytes = strtoull(f[8], NULL, 10);
        CHECK_INT_EQ(t->offset, abs);
        CHECK_INT_EQ(t->size, nbytes);
        CHECK_STR_EQ(base_name(t->file), f[1]);
        const fl_st_file *file = fl_st_file_of(st, t - st->tensors);
        CHECK(file && file->path == t->file);
        CHECK(file && (const uint8_t *)t->data == file->data + abs);
        CHECK(file && abs + nbytes <= file->size);
        CHECK_MSG(fnv1a64(t->data, t->size) == strtoull(f[9], NULL, 16), "checksum of '%s'", f[2]);
    }
    free(text);
    return n;
}

/* Within each file, views are in data order and tile the data section. */
static void check_layout(const fl_st *st) {
    for (int32_t k = 0; k < st->n_files; k++) {
        const fl_st_file *f = &st->files[k];
        uint64_t at = f->data_start;
        for (int64_t i = f->first_tensor; i < f->first_tensor + f->n_tensors; i++) {
            CHECK_INT_EQ(st->tensor_file[i], k);
            CHECK_INT_EQ(st->tensors[i].offset, at);
            at += st->tensors[i].size;
        }
        CHECK_INT_EQ(at, f->size);
    }
}

static void test_fixtures(void) {
    fl_st st;
    TEST_GROUP("single file");
    CHECK(fl_st_open_file(&st, FIXTURE("st/single/model.safetensors")) == FLINT_OK);
    CHECK_INT_EQ(check_manifest(&st, FIXTURE("st/single/model.manifest")), st.n_tensors);
    CHECK_INT_EQ(st.n_tensors, 25);
    CHECK_INT_EQ(st.n_files, 1);
    check_layout(&st);
    const flint_tensor_info *t = fl_st_find(&st, "f32.scalar");
    CHECK(t && t->n_dims == 0 && t->size == 4 && t->ne[0] == 1 && t->ne[7] == 1);
    t = fl_st_find(&st, "u8.zero");
    CHECK(t && t->n_dims == 2 && t->size == 0 && t->ne[0] == 7 && t->ne[1] == 0);
    t = fl_st_find(&st, "f4.2d"); /* logical shape [3, 8] in 12 bytes */
    CHECK(t && t->type == FLINT_TYPE_F4_E2M1 && t->ne[0] == 8 && t->ne[1] == 3 && t->size == 12);
    CHECK(fl_st_find(&st, "nope") == NULL);
    CHECK_FAILS(fl_st_get(&st, "nope", &t), FLINT_E_NOT_FOUND, "no tensor 'nope'");
    CHECK(fl_st_get(&st, "i8.2d", &t) == FLINT_OK && t && t->type == FLINT_TYPE_I8);
    CHECK(fl_st_file_of(&st, -1) == NULL && fl_st_file_of(&st, st.n_tensors) == NULL);
    fl_st_close(&st);
    CHECK(st.n_tensors == 0 && st.files == NULL);
    fl_st_close(&st); /* closing twice is harmless */

    TEST_GROUP("folder with model.safetensors");
    CHECK(fl_st_open_dir(&st, FIXTURE("st/single")) == FLINT_OK);
    CHECK_INT_EQ(check_manifest(&st, FIXTURE("st/single/model.manifest")), st.n_tensors);
    fl_st_close(&st);
    CHECK(fl_st_open(&st, FIXTURE("st/single")) == FLINT_OK && st.n_tensors == 25);
    fl_st_close(&st);
    CHECK(fl_st_open(&st, FIXTURE("st/single/model.safetensors")) == FLINT_OK && st.n_tensors == 25);
    fl_st_close(&st);

    TEST_GROUP("in memory");
    char *buf;
    uint64_t len;
    CHECK(fl_read_file(FIXTURE("st/single/model.safetensors"), 1 << 20, &buf, &len) == FLINT_OK);
    CHECK(fl_st_parse(&st, buf, len, "mem.safetensors") == FLINT_OK);
    CHECK_INT_EQ(st.n_tensors, 25);
    t = fl_st_find(&st, "bf16.5d");
    CHECK(t && t->data == buf + t->offset && strcmp(t->file, "mem.safetensors") == 0);
    CHECK(t && t->n_dims == 5 && t->ne[0] == 2 && t->ne[1] == 1 && t->ne[2] == 3 && t->ne[4] == 2);
    fl_st_close(&st);
    free(buf);

    TEST_GROUP("F6");
    CHECK(fl_st_open_file(&st, FIXTURE("st/f6.safetensors")) == FLINT_OK);
    CHECK_INT_EQ(check_manifest(&st, FIXTURE("st/f6.manifest")), 3);
    check_layout(&st);
    CHECK_INT_EQ(st.files[0].meta.n_kvs, 3);
    fl_st_close(&st);

    TEST_GROUP("sharded");
    CHECK(fl_st_open_dir(&st, FIXTURE("st/sharded")) == FLINT_OK);
    CHECK_INT_EQ(st.n_files, 2);
    CHECK_INT_EQ(st.n_tensors, 8);
    CHECK_INT_EQ(check_manifest(&st, FIXTURE("st/sharded/manifest")), 8);
    check_layout(&st);
    if (st.n_files == 2) {
        CHECK_STR_EQ(base_name(st.files[0].path), "model-00001-of-00002.safetensors");
        CHECK_STR_EQ(base_name(st.files[1].path), "model-00002-of-00002.safetensors");
    }
    t = fl_st_find(&st, "lm_head.weight");
    CHECK(t && strcmp(base_name(t->file), "model-00002-of-00002.safetensors") == 0);
    fl_st_close(&st);
}

/* ---- hostile inputs, in memory ---- */

/* A safetensors image: LE length, header, data_len bytes of data. */
static uint8_t *image(const char *header, uint64_t data_len, uint64_t *size) {
    uint64_t n = strlen(header);
    *size = 8 + n + data_len;
    uint8_t *b = calloc(1, (size_t)*size);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(n >> (8 * i));
    memcpy(b + 8, header, n);
    return b;
}

static flint_status parse_h(const char *header, uint64_t data_len) {
    uint64_t size;
    uint8_t *b = image(header, data_len, &size);
    fl_st st;
    flint_status s = fl_st_parse(&st, b, size, "bad.safetensors");
    if (s == FLINT_OK) fl_st_close(&st);
    free(b);
    return s;
}

static flint_status parse_raw(const void *b, uint64_t size) {
    fl_st st;
    /* an exact-size copy, so that asan sees any over-read */
    void *c = malloc(size ? size : 1);
    memcpy(c, b, size);
    flint_status s = fl_st_parse(&st, c, size, "bad.safetensors");
    if (s == FLINT_OK) fl_st_close(&st);
    free(c);
    return s;
}

#define E(x) "{\"t\":{" x "}}"

static void test_bad_memory(void) {
    TEST_GROUP("bad: sizes");
    CHECK_FAILS(parse_raw("abc", 3), FLINT_E_FORMAT, "bad.safetensors: 3 bytes, too short");
    CHECK_FAILS(parse_raw("", 0), FLINT_E_FORMAT, "too short");
    uint8_t b[16] = {100, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    CHECK_FAILS(parse_raw(b, 10), FLINT_E_FORMAT, "header length 100 runs past the end of the file (10 bytes)");
    uint8_t huge[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'};
    CHECK_FAILS(parse_raw(huge, 10), FLINT_E_FORMAT, "more than the 100000000 bytes allowed");
    uint8_t big[16] = {0x01, 0xe1, 0xf5, 0x05, 0, 0, 0, 0, '{', '}'}; /* 100,000,001 */
    CHECK_FAILS(parse_raw(big, 10), FLINT_E_FORMAT, "header length 100000001 is more than");

    TEST_GROUP("bad: header JSON");
    CHECK_FAILS(parse_h("{\"t\": ", 0), FLINT_E_FORMAT, "header is not valid JSON");
    CHECK_FAILS(parse_h("", 0), FLINT_E_FORMAT, "header is not valid JSON");
    CHECK_FAILS(parse_h("[1, 2]", 0), FLINT_E_FORMAT, "header is a JSON array, not an object");
    CHECK_FAILS(parse_h("\"x\"", 0), FLINT_E_FORMAT, "header is a JSON string, not an object");
    CHECK_FAILS(parse_h("{} x", 0), FLINT_E_FORMAT, "not valid JSON");
    CHECK_FAILS(parse_h("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                        "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2),
                FLINT_E_FORMAT, "header has a duplicate key");
    CHECK_FAILS(parse_h("{\"\xff\xfe\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1),
                FLINT_E_FORMAT, "header is not valid UTF-8");
    CHECK_FAILS(parse_h("{\"a\xc0\x80\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1),
                FLINT_E_FORMAT, "not valid UTF-8"); /* overlong NUL */
    CHECK_FAILS(parse_h("{\"a\\u0000b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1),
                FLINT_E_FORMAT, "header is not valid JSON");
    CHECK_FAILS(parse_h("{\"\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1), FLINT_E_FORMAT,
                "a tensor has an empty name");
    char deep[5000];
    memset(deep, '[', 4000);
    deep[4000] = '\0';
    CHECK_FAILS(parse_h(deep, 0), FLINT_E_FORMAT, "header is nested too deeply");

    TEST_GROUP("bad: entries");
    CHECK_FAILS(parse_h("{\"t\":3}", 0), FLINT_E_FORMAT, "tensor 't': entry is a JSON integer, not an object");
    CHECK_FAILS(parse_h(E("\"shape\":[1],\"data_offsets\":[0,1]"), 1), FLINT_E_FORMAT, "tensor 't' has no dtype");
    CHECK_FAILS(parse_h(E("\"dtype\":\"U8\",\"data_offsets\":[0,1]"), 1), FLINT_E_FORMAT, "tensor 't' has no shape");
    CHECK_FAILS(parse_h(E("\"dtype\":\"U8\",\"shape\":[1]"), 1), FLINT_E_FORMAT, "tensor 't' has no data_offsets");
    CHECK_FAILS(parse_h(E("\"dtype\":8,\"shape\":[1],\"data_offsets\":[0,1]"), 1), FLINT_E_FORMAT,
                "dtype is a JSON integer, not a string");
    CHECK_FAILS(parse_h(E("\"dtype\":\"F7\",\"shape\":[1],\"data_offsets\":[0,1]"), 1), FLINT_E_UNSUPPORTED,
                "tensor 't' has unknown dtype 'F7'");
    CHECK_FAILS(parse_h(E("\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]"), 4), FLINT_E_UNSUPPORTED,
                "unknown dtype 'f32'");
    CHECK_FAILS(parse_h(E("\"dtype\":\"F8_E3M4\",\"shape\":[1],\"data_offsets\":[0,1]"), 1),
                FLINT_E_UNSUPPORTED, "unknown dtype 'F8_E3M4'");
    CHECK_FAILS(parse_h(E("\"dtype\":\"U8\",\"shape\":{},\"data_offsets\":[0,1]"), 1), FLINT_E_FORMAT,
                "shape is a JSON object, not an array");
    CHECK_FAILS(parse_h(E("\"dtype\":\"U8\",\"shape\":[2,-1],\"data_offsets\":[0,1]"), 1), FLINT_E_FORMAT,
                "shape[1] is -1, negative");
    CHECK_FAILS(parse_h(E("\"dtype\":\"U8\",\"shape\":[1.0],\"data_offsets\":[0,1]"), 1), FLINT_E_FORMAT,
                "shape[0] is a JSON real, not an integer");
    CHECK_FAILS(parse_h(E("\"dtype\":\"U8\",\"shape\":[\"1\"],\"data_offsets\":[0,1]"), 1), FLINT_E_FORMAT,
                "shape[0] is a JSON string, not an integer");
    CHECK_FAILS(parse_h(E("\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]"), 1),
                FLINT_E_FORMAT, "has 9 dims, more than the 8 allowed");
    CHECK_FAILS(parse_h(E("\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,1]"), 1),
                FLINT_E_FORMAT, "element count of its shape overflows");
    /* a zero dim does not excuse the others: no ne[] product may overflow */
    CHECK_FAILS(parse_h(E("\"dtype\":\"U8\",\"shape\":[0,4294967296,4294967296],\"data_offsets\":[0,0]"), 0),
                FLINT_E_FORMAT, "overflows");
    CHECK_FAILS(parse_h(E("\"dtype\":\"F64\",\"shape\":[3074457345618258603],\"data_offsets\":[0,8]"), 8),
                FLINT_E_FORMAT, "byte size of F64 [3074457345618258603] overflows");
    CHECK_FAILS(parse_h(E("\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]"), 1), FLINT_E_FORMAT,
                "data_offsets is not [begin, end]");
    CHECK_FAILS(parse_h(E("\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]"), 2), FLINT_E_FORMAT,
                "data_offsets is not [begin, end]");
    CHECK_FAILS(parse_h(E("\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1.0]"), 1), FLINT_E_FORMAT,
                "data_offsets is not [begin, end]");
    CHECK_FAILS(parse_h(E("\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":{\"a\":1}"), 1), FLINT_E_FORMAT,
                "data_offsets is not [begin, end]");
    CHECK_FAILS(parse_h(E("\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[-1,0]"), 1), FLINT_E_FORMAT,
                "data_offsets [-1, 0] is negative");
    CHECK_FAILS(parse_h(E("\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,1]"), 2), FLINT_E_FORMAT,
                "data_offsets [2, 1] begins after it ends");
    CHECK_FAILS(parse_h(E("\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]"), 3), FLINT_E_FORMAT,
                "tensor 't' ends at byte 4 of the data section, past its end (3 bytes)");
    CHECK_FAILS(parse_h(E("\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,9223372036854775807]"), 1),
                FLINT_E_FORMAT, "past its end");
    CHECK_FAILS(parse_h(E("\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]"), 20), FLINT_E_FORMAT,
                "tensor 't': F32 [2, 3] needs 24 bytes but data_offsets [0, 20] hold 20");
    CHECK_FAILS(parse_h(E("\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[0,4]"), 4), FLINT_E_FORMAT,
                "BF16 [] needs 2 bytes");
    CHECK_FAILS(parse_h(E("\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]"), 2), FLINT_E_FORMAT,
                "F4 [3] has 3 elements, not a multiple of 2");
    CHECK_FAILS(parse_h(E("\"dtype\":\"F6_E2M3\",\"shape\":[2],\"data_offsets\":[0,2]"), 2), FLINT_E_FORMAT,
                "not a multiple of 4");

    TEST_GROUP("bad: layout");
    const char *two = "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                      "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[%d,%d]}}";
    char h[512];
    snprintf(h, sizeof h, two, 2, 6);
    CHECK_FAILS(parse_h(h, 6), FLINT_E_FORMAT, "tensor 'b' [2, 6) overlaps tensor 'a' [0, 4)");
    snprintf(h, sizeof h, two, 0, 4);
    CHECK_FAILS(parse_h(h, 4), FLINT_E_FORMAT, "overlaps");
    snprintf(h, sizeof h, two, 5, 9);
    CHECK_FAILS(parse_h(h, 9), FLINT_E_FORMAT, "bytes [4, 5) of the data section, before tensor 'b', belong to no tensor");
    snprintf(h, sizeof h, two, 4, 8);
    CHECK(parse_h(h, 8) == FLINT_OK);
    CHECK_FAILS(parse_h(h, 9), FLINT_E_FORMAT, "the data section has 9 bytes but the tensors cover only 8");
    CHECK_FAILS(parse_h(E("\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[1,5]"), 5), FLINT_E_FORMAT,
                "bytes [0, 1) of the data section");
    CHECK_FAILS(parse_h("{}", 1), FLINT_E_FORMAT, "trailing");
    /* zero-size tensors may sit anywhere on a boundary, but not inside a range */
    CHECK(parse_h("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                  "\"z\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[4,4]},"
                  "\"y\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", 4) == FLINT_OK);
    CHECK_FAILS(parse_h("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                        "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[2,2]}}", 4),
                FLINT_E_FORMAT, "tensor 'z' [2, 2) overlaps tensor 'a' [0, 4)");

    TEST_GROUP("bad: __metadata__");
    CHECK_FAILS(parse_h("{\"__metadata__\":[\"x\"]}", 0), FLINT_E_FORMAT,
                "__metadata__ is a JSON array, not an object of strings");
    CHECK_FAILS(parse_h("{\"__metadata__\":{\"format\":1}}", 0), FLINT_E_FORMAT,
                "__metadata__ value of 'format' is a JSON integer, not a string");

    TEST_GROUP("good oddities");
    CHECK(parse_h("{}", 0) == FLINT_OK);
    CHECK(parse_h("{}        ", 0) == FLINT_OK);                     /* space padding */
    CHECK(parse_h("{\"__metadata__\":null}", 0) == FLINT_OK);       /* the crate allows null */
    CHECK(parse_h(E("\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2],\"extra\":[1]"), 2) == FLINT_OK);
    uint64_t size;
    uint8_t *img = image("{\"__metadata__\":{\"format\":\"pt\",\"e\":\"\"},"
                         "\"b\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[2,6]},"
                         "\"a\":{\"dtype\":\"U8\",\"shape\":[2,1],\"data_offsets\":[0,2]}}  ", 6, &size);
    fl_st st;
    CHECK(fl_st_parse(&st, img, size, "ok.safetensors") == FLINT_OK);
    CHECK_INT_EQ(st.n_tensors, 2);
    if (st.n_tensors == 2) {
        CHECK_STR_EQ(st.tensors[0].name, "a"); /* data order, not header order */
        CHECK_STR_EQ(st.tensors[1].name, "b");
        CHECK(st.tensors[1].data == img + size - 4 && st.tensors[1].offset == size - 4);
        CHECK(st.tensors[0].ne[0] == 1 && st.tensors[0].ne[1] == 2 && st.tensors[0].n_dims == 2);
    }
    const fl_meta_value *v = fl_meta_find(&st.files[0].meta, "e");
    CHECK(v && v->type == FLINT_META_STRING && v->count == 0);
    fl_st_close(&st);
    free(img);
}

/* ---- folders, on disk ---- */

static char tmpdir[64];

static void put(const char *name, const void *data, size_t len) {
    char *p = fl_path_join(tmpdir, name);
    FILE *f = fopen(p, "wb");
    CHECK_MSG(f != NULL, "cannot write %s", p);
    if (f) {
        fwrite(data, 1, len, f);
        fclose(f);
    }
    free(p);
}

static void put_st(const char *name, const char *header, uint64_t data_len) {
    uint64_t size;
    uint8_t *b = image(header, data_len, &size);
    put(name, b, (size_t)size);
    free(b);
}

static void put_text(const char *name, const char *text) { put(name, text, strlen(text)); }

static void clear_dir(void) {
    DIR *d = opendir(tmpdir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char *p = fl_path_join(tmpdir, e->d_name);
        unlink(p);
        free(p);
    }
    closedir(d);
}

#define SHARD_A "{\"x\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}"
#define SHARD_B "{\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"
#define INDEX(x, y) "{\"metadata\":{\"total_size\":6},\"weight_map\":{\"x\":\"" x "\",\"y\":\"" y "\"}}"

static flint_status open_tmp(void) {
    fl_st st;
    flint_status s = fl_st_open_dir(&st, tmpdir);
    if (s == FLINT_OK) fl_st_close(&st);
    return s;
}

static void test_dirs(void) {
    strcpy(tmpdir, "/tmp/flint_st_XXXXXX");
    CHECK(mkdtemp(tmpdir) != NULL);
    fl_st st;

    TEST_GROUP("dir: layouts");
    CHECK_FAILS(open_tmp(), FLINT_E_IO, "no model.safetensors or model.safetensors.index.json in /tmp/flint_st_");
    put_st("a.safetensors", SHARD_A, 2);
    put_st("b.safetensors", SHARD_B, 4);
    put_text("model.safetensors.index.json", INDEX("a.safetensors", "b.safetensors"));
    CHECK(fl_st_open_dir(&st, tmpdir) == FLINT_OK);
    CHECK(st.n_files == 2 && st.n_tensors == 2);
    CHECK(fl_st_find(&st, "y") && fl_st_find(&st, "y")->type == FLINT_TYPE_F32);
    fl_st_close(&st);
    /* the index wins over model.safetensors */
    put_st("model.safetensors", "{}", 0);
    CHECK(fl_st_open_dir(&st, tmpdir) == FLINT_OK && st.n_tensors == 2);
    fl_st_close(&st);

    TEST_GROUP("dir: missing shard");
    put_text("model.safetensors.index.json", INDEX("a.safetensors", "c.safetensors"));
    CHECK_FAILS(open_tmp(), FLINT_E_IO, "weight_map names shard 'c.safetensors'");
    CHECK_FAILS(open_tmp(), FLINT_E_IO, "c.safetensors: cannot open");

    TEST_GROUP("dir: tensor not in its shard");
    put_text("model.safetensors.index.json",
             "{\"weight_map\":{\"x\":\"a.safetensors\",\"y\":\"b.safetensors\",\"z\":\"b.safetensors\"}}");
    CHECK_FAILS(open_tmp(), FLINT_E_FORMAT,
                "weight_map puts tensor 'z' in shard 'b.safetensors', which does not hold it");
    put_st("c.safetensors", "{}", 0);
    put_text("model.safetensors.index.json",
             "{\"weight_map\":{\"x\":\"c.safetensors\",\"y\":\"b.safetensors\",\"w\":\"a.safetensors\"}}");
    CHECK_FAILS(open_tmp(), FLINT_E_FORMAT, "weight_map puts tensor 'x' in shard 'c.safetensors', but it is in");

    TEST_GROUP("dir: extra tensor in a shard");
    put_st("a.safetensors", "{\"x\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
                            "\"extra\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,3]}}", 3);
    put_text("model.safetensors.index.json", INDEX("a.safetensors", "b.safetensors"));
    CHECK(fl_st_open_dir(&st, tmpdir) == FLINT_OK && st.n_tensors == 3 && fl_st_find(&st, "extra"));
    fl_st_close(&st);

    TEST_GROUP("dir: duplicate across shards");
    put_st("c.safetensors", SHARD_A, 2);
    put_text("model.safetensors.index.json",
             "{\"weight_map\":{\"x\":\"c.safetensors\",\"y\":\"b.safetensors\",\"extra\":\"a.safetensors\"}}");
    CHECK_FAILS(open_tmp(), FLINT_E_FORMAT, "tensor 'x' is in both");
    CHECK_FAILS(open_tmp(), FLINT_E_FORMAT, "a.safetensors and /tmp/flint_st_");

    TEST_GROUP("dir: hostile shard names");
    put_text("model.safetensors.index.json", INDEX("../a.safetensors", "b.safetensors"));
    CHECK_FAILS(open_tmp(), FLINT_E_FORMAT,
                "weight_map puts tensor 'x' in '../a.safetensors', which is not a plain file name in the folder");
    put_text("model.safetensors.index.json", INDEX("/etc/passwd", "b.safetensors"));
    CHECK_FAILS(open_tmp(), FLINT_E_FORMAT, "not a plain file name");
    put_text("model.safetensors.index.json", INDEX("..", "b.safetensors"));
    CHECK_FAILS(open_tmp(), FLINT_E_FORMAT, "not a plain file name");
    put_text("model.safetensors.index.json", INDEX("", "b.safetensors"));
    CHECK_FAILS(open_tmp(), FLINT_E_FORMAT, "not a plain file name");
    put_text("model.safetensors.index.json", INDEX("sub\\\\a.safetensors", "b.safetensors"));
    CHECK_FAILS(open_tmp(), FLINT_E_FORMAT, "not a plain file name");

    TEST_GROUP("dir: bad index");
    put_text("model.safetensors.index.json", "{\"weight_map\":");
    CHECK_FAILS(open_tmp(), FLINT_E_FORMAT, "model.safetensors.index.json: index is not valid JSON");
    put_text("model.safetensors.index.json", "[]");
    CHECK_FAILS(open_tmp(), FLINT_E_FORMAT, "index is a JSON array, not an object");
    put_text("model.safetensors.index.json", "{\"metadata\":{}}");
    CHECK_FAILS(open_tmp(), FLINT_E_FORMAT, "no weight_map");
    put_text("model.safetensors.index.json", "{\"weight_map\":[]}");
    CHECK_FAILS(open_tmp(), FLINT_E_FORMAT, "weight_map is not an object");
    put_text("model.safetensors.index.json", "{\"weight_map\":{\"x\":3}}");
    CHECK_FAILS(open_tmp(), FLINT_E_FORMAT, "weight_map entry for 'x' is a JSON integer, not a shard name");
    put_text("model.safetensors.index.json", "{\"weight_map\":{\"x\":\"a\",\"x\":\"b\"}}");
    CHECK_FAILS(open_tmp(), FLINT_E_FORMAT, "index has a duplicate key");
    put_text("model.safetensors.index.json", "{\"weight_map\":{}}");
    CHECK(fl_st_open_dir(&st, tmpdir) == FLINT_OK && st.n_tensors == 0);
    fl_st_close(&st);

    TEST_GROUP("dir: bad shard");
    put("b.safetensors", "abc", 3);
    put_text("model.safetensors.index.json", INDEX("a.safetensors", "b.safetensors"));
    CHECK_FAILS(open_tmp(), FLINT_E_FORMAT, "b.safetensors: 3 bytes, too short");
    CHECK_FAILS(open_tmp(), FLINT_E_FORMAT, "weight_map names shard 'b.safetensors'");

    TEST_GROUP("file errors");
    char *p = fl_path_join(tmpdir, "none.safetensors");
    CHECK_FAILS(fl_st_open_file(&st, p), FLINT_E_IO, "none.safetensors: cannot open");
    free(p);
    put("empty.safetensors", "", 0);
    p = fl_path_join(tmpdir, "empty.safetensors");
    CHECK_FAILS(fl_st_open_file(&st, p), FLINT_E_FORMAT, "empty.safetensors: 0 bytes, too short");
    free(p);
    CHECK_FAILS(fl_st_open_file(&st, tmpdir), FLINT_E_IO, "not a regular file");

    clear_dir();
    rmdir(tmpdir);
}

int main(void) {
    test_fixtures();
    test_bad_memory();
    test_dirs();
    return test_finish("safetensors");
}
