/* test_gguf.c — the GGUF reader against files written by the gguf Python
 * package (tools/gen_gguf_fixtures.py), and against hostile images. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "format/gguf.h"
#include "gguf_builder.h"
#include "harness.h"
#include "quant/types.h"

/* ---- the canonical dump the fixture manifests use ---- */

typedef struct text {
    char *p;
    size_t n, cap;
} text;

static void tprintf(text *t, const char *fmt, ...) FL_PRINTF(2, 3);
static void tprintf(text *t, const char *fmt, ...) {
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int k = vsnprintf(t->p ? t->p + t->n : NULL, t->p ? t->cap - t->n : 0, fmt, ap);
        va_end(ap);
        if (t->p && (size_t)k < t->cap - t->n) {
            t->n += (size_t)k;
            return;
        }
        t->cap = t->cap * 2 + (size_t)k + 256;
        t->p = realloc(t->p, t->cap);
        if (!t->p) abort();
    }
}

static void dump_value(text *t, const char *path, const fl_meta_value *v) {
    const char *tn = fl_meta_type_name(v->type);
    switch (v->type) {
    case FLINT_META_ARRAY: {
        tprintf(t, "%s array %s %" PRIu64 "\n", path, fl_meta_type_name(v->elem_type), v->count);
        for (uint64_t i = 0; i < v->count; i++) {
            fl_meta_value tmp;
            const fl_meta_value *e;
            if (fl_meta_array_at(v, i, &tmp, &e)) return;
            char sub[512];
            snprintf(sub, sizeof sub, "%s[%" PRIu64 "]", path, i);
            dump_value(t, sub, e);
        }
        return;
    }
    case FLINT_META_STRING:
        tprintf(t, "%s string ", path);
        if (v->count == 0) tprintf(t, "-");
        for (uint64_t i = 0; i < v->count; i++) tprintf(t, "%02x", ((const uint8_t *)v->data)[i]);
        tprintf(t, "\n");
        return;
    case FLINT_META_F32: {
        float f = (float)v->num.f;
        uint32_t bits;
        memcpy(&bits, &f, 4);
        tprintf(t, "%s %s 0x%08" PRIx32 "\n", path, tn, bits);
        return;
    }
    case FLINT_META_F64: {
        uint64_t bits;
        memcpy(&bits, &v->num.f, 8);
        tprintf(t, "%s %s 0x%016" PRIx64 "\n", path, tn, bits);
        return;
    }
    case FLINT_META_I8: case FLINT_META_I16: case FLINT_META_I32: case FLINT_META_I64:
        tprintf(t, "%s %s %" PRId64 "\n", path, tn, v->num.i);
        return;
    default:
        tprintf(t, "%s %s %" PRIu64 "\n", path, tn, v->num.u);
        return;
    }
}

static uint64_t fnv1a64(const uint8_t *p, uint64_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint64_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static void dump_gguf(text *t, const fl_gguf *g) {
    for (int64_t i = 0; i < g->meta.n_kvs; i++) dump_value(t, g->meta.kvs[i].key, &g->meta.kvs[i].value);
    for (int64_t i = 0; i < g->n_tensors; i++) {
        const flint_tensor_info *x = &g->tensors[i];
        tprintf(t, "tensor %s %s %d ", x->name, flint_type_name(x->type), x->n_dims);
        for (int d = 0; d < x->n_dims; d++) tprintf(t, d ? ",%" PRId64 : "%" PRId64, x->ne[d]);
        tprintf(t, " %" PRIu64 " %" PRIu64 " %016" PRIx64 "\n", x->offset, x->size,
                fnv1a64(x->data, x->size));
    }
}

static void check_against_manifest(const char *gguf_path, const char *manifest_path) {
    fl_gguf g;
    flint_status st = fl_gguf_open(&g, gguf_path);
    CHECK_MSG(st == FLINT_OK, "%s", flint_errmsg());
    if (st) return;
    text t = {0};
    dump_gguf(&t, &g);
    char *want = NULL;
    uint64_t want_len = 0;
    st = fl_read_file(manifest_path, 1 << 20, &want, &want_len);
    CHECK_MSG(st == FLINT_OK, "%s", flint_errmsg());
    if (!st) {
        /* compare line by line so that a failure names the first difference */
        const char *a = t.p, *b = want;
        int line = 1;
        while (*a && *b) {
            size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
            if (la != lb || memcmp(a, b, la) != 0) break;
            a += la + (a[la] == '\n');
            b += lb + (b[lb] == '\n');
            line++;
        }
        CHECK_MSG(*a == '\0' && *b == '\0', "%s line %d: flint \"%.*s\" vs gguf-py \"%.*s\"", manifest_path, line,
                  (int)strcspn(a, "\n"), a, (int)strcspn(b, "\n"), b);
    }
    free(want);
    free(t.p);
    fl_gguf_close(&g);
}

/* ---- hostile images ---- */

static flint_status parse(const gb *b) {
    fl_gguf g;
    flint_status st = fl_gguf_parse(&g, b->p, b->n, "bad.gguf");
    if (!st) fl_gguf_close(&g);
    return st;
}

/* One F32 tensor of 8 elements named "w", with an alignment key. */
static void good_image(gb *b) {
    uint64_t ne[1] = {8};
    gb_header(b, 3, 1, 1);
    gb_kv_u32(b, "general.alignment", 32);
    gb_tensor(b, "w", 1, ne, 0, 0);
    gb_pad(b, 32);
    gb_zeros(b, 32);
}

static void test_bad_inputs(void) {
    TEST_GROUP("bad inputs");
    gb b = {0};
    good_image(&b);
    CHECK_INT_EQ(parse(&b), FLINT_OK);

    /* every proper prefix of a good file is an error, never a crash */
    int prefix_failures = 0;
    for (size_t n = 0; n < b.n; n++) {
        fl_gguf g;
        if (fl_gguf_parse(&g, b.p, n, "cut.gguf") == FLINT_OK) {
            prefix_failures++;
            fl_gguf_close(&g);
        }
    }
    CHECK_INT_EQ(prefix_failures, 0);
    {
        fl_gguf g;
        CHECK_FAILS(fl_gguf_parse(&g, b.p, 40, "cut.gguf"), FLINT_E_FORMAT, "truncated");
        CHECK_FAILS(fl_gguf_parse(&g, b.p, b.n - 1, "cut.gguf"), FLINT_E_FORMAT, "ends past the data section");
        CHECK(strstr(flint_errmsg(), "cut.gguf") != NULL);
    }
    b.p[0] = 'X';
    CHECK_FAILS(parse(&b), FLINT_E_FORMAT, "bad magic");
    gb_free(&b);

    gb_header(&b, 1, 0, 0);
    CHECK_FAILS(parse(&b), FLINT_E_UNSUPPORTED, "version 1");
    gb_free(&b);
    gb_header(&b, 4, 0, 0);
    CHECK_FAILS(parse(&b), FLINT_E_UNSUPPORTED, "version 4");
    gb_free(&b);
    gb_header(&b, 3u << 24, 0, 0);
    CHECK_FAILS(parse(&b), FLINT_E_UNSUPPORTED, "big-endian");
    gb_free(&b);

    gb_header(&b, 3, 1ull << 62, 0);
    CHECK_FAILS(parse(&b), FLINT_E_FORMAT, "tensors cannot fit");
    gb_free(&b);
    gb_header(&b, 3, 0, UINT64_MAX);
    CHECK_FAILS(parse(&b), FLINT_E_FORMAT, "metadata pairs cannot fit");
    gb_free(&b);

    gb_header(&b, 3, 0, 1); /* key length 2^40 */
    gb_u64(&b, 1ull << 40);
    gb_zeros(&b, 16);
    CHECK_FAILS(parse(&b), FLINT_E_FORMAT, "metadata key has length 1099511627776");
    gb_free(&b);

    gb_header(&b, 3, 0, 1); /* u8 array of 2^60 elements */
    gb_str(&b, "big");
    gb_u32(&b, 9);
    gb_u32(&b, 0);
    gb_u64(&b, 1ull << 60);
    gb_zeros(&b, 16);
    CHECK_FAILS(parse(&b), FLINT_E_FORMAT, "array of 1152921504606846976 elements");
    gb_free(&b);

    gb_header(&b, 3, 0, 1); /* string array whose count fits bytes but not strings */
    gb_str(&b, "strs");
    gb_u32(&b, 9);
    gb_u32(&b, 8);
    gb_u64(&b, 1000);
    gb_zeros(&b, 1000);
    CHECK_FAILS(parse(&b), FLINT_E_FORMAT, "does not fit");
    gb_free(&b);

    gb_header(&b, 3, 0, 1); /* arrays nested 9 deep */
    gb_str(&b, "deep");
    gb_u32(&b, 9);
    for (int d = 0; d < 9; d++) {
        gb_u32(&b, 9);
        gb_u64(&b, 1);
    }
    gb_u32(&b, 4);
    gb_u64(&b, 1);
    gb_u32(&b, 7);
    CHECK_FAILS(parse(&b), FLINT_E_FORMAT, "nested more than");
    gb_free(&b);

    gb_header(&b, 3, 0, 1);
    gb_str(&b, "x");
    gb_u32(&b, 13); /* no such value type */
    gb_u32(&b, 0);
    CHECK_FAILS(parse(&b), FLINT_E_FORMAT, "unknown value type 13");
    gb_free(&b);

    gb_header(&b, 3, 0, 1);
    gb_u64(&b, 3);
    gb_bytes(&b, "a\xff" "b", 3);
    gb_u32(&b, 4);
    gb_u32(&b, 1);
    CHECK_FAILS(parse(&b), FLINT_E_FORMAT, "not valid UTF-8");
    gb_free(&b);

    gb_header(&b, 3, 0, 2);
    gb_kv_u32(&b, "dup", 1);
    gb_kv_u32(&b, "dup", 2);
    CHECK_FAILS(parse(&b), FLINT_E_FORMAT, "duplicate metadata key 'dup'");
    gb_free(&b);

    gb_header(&b, 3, 0, 1);
    gb_kv_u32(&b, "general.alignment", 48);
    CHECK_FAILS(parse(&b), FLINT_E_FORMAT, "not a power of two");
    gb_free(&b);
    gb_header(&b, 3, 0, 1);
    gb_kv_str(&b, "general.alignment", "32");
    CHECK_FAILS(parse(&b), FLINT_E_FORMAT, "expected u32");
    gb_free(&b);

    uint64_t ne5[5] = {8, 1, 1, 1, 1};
    gb_header(&b, 3, 1, 0);
    gb_tensor(&b, "w", 5, ne5, 0, 0);
    gb_pad(&b, 32);
    gb_zeros(&b, 32);
    CHECK_FAILS(parse(&b), FLINT_E_FORMAT, "5 dimensions");
    gb_free(&b);

    uint64_t huge[2] = {1ull << 40, 1ull << 40};
    gb_header(&b, 3, 1, 0);
    gb_tensor(&b, "w", 2, huge, 0, 0);
    gb_pad(&b, 32);
    CHECK_FAILS(parse(&b), FLINT_E_FORMAT, "element count overflows");
    gb_free(&b);

    uint64_t bytes_overflow[2] = {1ull << 32, 1ull << 30}; /* 2^62 F32 elements = 2^64 bytes */
    gb_header(&b, 3, 1, 0);
    gb_tensor(&b, "w", 2, bytes_overflow, 0, 0);
    gb_pad(&b, 32);
    CHECK_FAILS(parse(&b), FLINT_E_FORMAT, "byte size overflows");
    gb_free(&b);

    uint64_t ne8[1] = {8};
    gb_header(&b, 3, 1, 0);
    gb_tensor(&b, "w", 1, ne8, 4, 0); /* 4 was Q4_2, removed from ggml */
    gb_pad(&b, 32);
    gb_zeros(&b, 32);
    CHECK_FAILS(parse(&b), FLINT_E_FORMAT, "unknown type id 4");
    gb_free(&b);

    gb_header(&b, 3, 1, 0);
    gb_tensor(&b, "w", 1, ne8, 2, 0); /* Q4_0 needs multiples of 32 */
    gb_pad(&b, 32);
    gb_zeros(&b, 32);
    CHECK_FAILS(parse(&b), FLINT_E_FORMAT, "not a multiple of the Q4_0 block");
    gb_free(&b);

    gb_header(&b, 3, 1, 0);
    gb_tensor(&b, "w", 1, ne8, 0, 64);
    gb_pad(&b, 32);
    gb_zeros(&b, 64);
    CHECK_FAILS(parse(&b), FLINT_E_FORMAT, "ends past the data section");
    gb_free(&b);

    gb_header(&b, 3, 1, 0);
    gb_tensor(&b, "w", 1, ne8, 0, UINT64_MAX - 8);
    gb_pad(&b, 32);
    gb_zeros(&b, 64);
    CHECK_FAILS(parse(&b), FLINT_E_FORMAT, "not a multiple of the alignment");
    gb_free(&b);

    gb_header(&b, 3, 1, 0);
    gb_tensor(&b, "w", 1, ne8, 0, 4);
    gb_pad(&b, 32);
    gb_zeros(&b, 64);
    CHECK_FAILS(parse(&b), FLINT_E_FORMAT, "offset 4 is not a multiple of the alignment 32");
    gb_free(&b);

    gb_header(&b, 3, 2, 0);
    gb_tensor(&b, "w", 1, ne8, 0, 0);
    gb_tensor(&b, "w", 1, ne8, 0, 32);
    gb_pad(&b, 32);
    gb_zeros(&b, 64);
    CHECK_FAILS(parse(&b), FLINT_E_FORMAT, "duplicate tensor name 'w'");
    gb_free(&b);

    uint64_t ne16[1] = {16};
    gb_header(&b, 3, 2, 0);
    gb_tensor(&b, "a", 1, ne16, 0, 0); /* 64 bytes at 0 */
    gb_tensor(&b, "b", 1, ne8, 0, 32); /* 32 bytes at 32: inside a */
    gb_pad(&b, 32);
    gb_zeros(&b, 96);
    CHECK_FAILS(parse(&b), FLINT_E_FORMAT, "overlap");
    gb_free(&b);

    gb_header(&b, 3, 1, 0);
    gb_u64(&b, 2);
    gb_bytes(&b, "\xc0\x80", 2); /* overlong NUL */
    gb_u32(&b, 1);
    gb_u64(&b, 8);
    gb_u32(&b, 0);
    gb_u64(&b, 0);
    gb_pad(&b, 32);
    gb_zeros(&b, 32);
    CHECK_FAILS(parse(&b), FLINT_E_FORMAT, "not valid UTF-8");
    gb_free(&b);

    /* a file that is not there */
    fl_gguf g;
    CHECK_FAILS(fl_gguf_open(&g, "tests/fixtures/gguf/absent.gguf"), FLINT_E_IO, "absent.gguf");
}

static void test_fixtures(void) {
    TEST_GROUP("gguf-py fixtures");
    check_against_manifest(FIXTURE("gguf/all_types.gguf"), FIXTURE("gguf/all_types.txt"));
    check_against_manifest(FIXTURE("gguf/no_tensors.gguf"), FIXTURE("gguf/no_tensors.txt"));

    fl_gguf g;
    if (fl_gguf_open(&g, FIXTURE("gguf/all_types.gguf")) == FLINT_OK) {
        CHECK_INT_EQ(g.version, 3);
        CHECK_INT_EQ(g.alignment, 64);
        CHECK_INT_EQ(g.data_offset % 64, 0);
        CHECK(fl_gguf_find_tensor(&g, "t.2.q4_0") == 2);
        CHECK(fl_gguf_find_tensor(&g, "t.2.q4") == -1);
        const fl_meta_value *v = fl_meta_find(&g.meta, "t.arr_nested");
        CHECK(v && v->type == FLINT_META_ARRAY && v->count == 3 && v->items && v->items[2].count == 3);
        int64_t x;
        CHECK(fl_meta_value_int(fl_meta_find(&g.meta, "t.i8"), &x) == FLINT_OK && x == -128);
        CHECK_FAILS(fl_meta_value_int(fl_meta_find(&g.meta, "t.u64"), &x), FLINT_E_TYPE, "does not fit");
        CHECK_FAILS(fl_meta_value_int(fl_meta_find(&g.meta, "t.string"), &x), FLINT_E_TYPE, "not a number");
        fl_gguf_close(&g);
    }
}

int main(void) {
    test_fixtures();
    test_bad_inputs();
    return test_finish("gguf");
}
