/* test_config.c — config.json flattening against the flattening Python's
 * json module gives (the .expected files in tests/fixtures/st/config, written by
 * tools/gen_safetensors_fixtures.py), and hostile configs built here. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/file.h"
#include "format/config.h"
#include "harness.h"

static const char *type_word(flint_meta_type t) {
    switch (t) {
    case FLINT_META_I64: return "i64";
    case FLINT_META_F64: return "f64";
    case FLINT_META_BOOL: return "bool";
    case FLINT_META_STRING: return "string";
    case FLINT_META_NULL: return "null";
    case FLINT_META_ARRAY: return "array";
    default: return "?";
    }
}

/* The value at label: "key" or "key[i][j]..." (items of arrays). */
static const fl_meta_value *lookup(const fl_meta *m, char *label) {
    char *br = strchr(label, '[');
    if (br) *br = '\0';
    const fl_meta_value *v = fl_meta_find(m, label);
    if (br) *br = '[';
    for (char *p = br; v && p && *p == '['; p = strchr(p + 1, '[')) {
        unsigned long long i = strtoull(p + 1, NULL, 10);
        if (v->type != FLINT_META_ARRAY || i >= v->count) return NULL;
        v = &v->items[i];
    }
    return v;
}

static void check_value(const fl_meta_value *v, const char *label, const char *type, const char *val) {
    CHECK_MSG(v != NULL, "%s: missing", label);
    if (!v) return;
    CHECK_MSG(strcmp(type_word(v->type), type) == 0, "%s: type %s, wanted %s", label, type_word(v->type), type);
    if (strcmp(type, "i64") == 0) {
        CHECK_MSG(v->type == FLINT_META_I64 && v->num.i == strtoll(val, NULL, 10), "%s: %lld vs %s", label,
                  (long long)v->num.i, val);
    } else if (strcmp(type, "f64") == 0) {
        CHECK_MSG(v->type == FLINT_META_F64 && v->num.f == strtod(val, NULL), "%s: %.17g vs %s", label, v->num.f,
                  val);
    } else if (strcmp(type, "bool") == 0) {
        CHECK_MSG(v->type == FLINT_META_BOOL && v->num.u == (strcmp(val, "true") == 0), "%s", label);
    } else if (strcmp(type, "string") == 0) {
        char want[512];
        size_t n = 0;
        if (strcmp(val, "-") != 0)
            for (const char *h = val; h[0] && h[1] && n + 1 < sizeof want; h += 2) {
                unsigned x;
                sscanf(h, "%2x", &x);
                want[n++] = (char)x;
            }
        want[n] = '\0';
        CHECK_MSG(v->type == FLINT_META_STRING && v->count == n && memcmp(v->data, want, n) == 0 &&
                      ((const char *)v->data)[n] == '\0',
                  "%s: \"%.*s\" vs \"%s\"", label, (int)v->count, (const char *)v->data, want);
    } else if (strcmp(type, "array") == 0) {
        char et[16];
        unsigned long long count;
        CHECK(sscanf(val, "%15s %llu", et, &count) == 2);
        CHECK_MSG(strcmp(type_word(v->elem_type), et) == 0 && v->count == count,
                  "%s: array of %s x %llu, wanted %s", label, type_word(v->elem_type),
                  (unsigned long long)v->count, val);
        CHECK(count == 0 ? v->items == NULL : v->items != NULL);
    }
}

/* Every expected line matches, and the fl_meta holds no other key. */
static void check_expected(const char *json_path, const char *expected_path, fl_meta *m) {
    CHECK_MSG(fl_config_load(json_path, m) == FLINT_OK, "%s", flint_errmsg());
    char *text;
    uint64_t len;
    CHECK(fl_read_file(expected_path, 1 << 20, &text, &len) == FLINT_OK);
    if (!text) return;
    int64_t n_keys = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        CHECK_MSG(t2 != NULL, "bad line in %s", expected_path);
        if (!t2) continue;
        *t1 = *t2 = '\0';
        if (!strchr(line, '[')) n_keys++;
        check_value(lookup(m, line), line, t1 + 1, t2 + 1);
    }
    CHECK_MSG(m->n_kvs == n_keys, "%s: %lld keys, wanted %lld", json_path, (long long)m->n_kvs,
              (long long)n_keys);
    free(text);
}

static void test_fixtures(void) {
    fl_meta m;
    const fl_meta_value *v;
    int64_t i;
    double f;

    TEST_GROUP("gemma3 1b (flat)");
    check_expected(FIXTURE("st/config/gemma3_1b.json"), FIXTURE("st/config/gemma3_1b.expected"), &m);
    CHECK_STR_EQ(fl_config_arch(&m), "gemma3_text");
    CHECK_STR_EQ(fl_config_architecture(&m), "Gemma3ForCausalLM");
    CHECK(fl_meta_value_int(fl_meta_find_text(&m, "hidden_size"), &i) == FLINT_OK && i == 1152);
    CHECK(fl_meta_value_float(fl_meta_find(&m, "rms_norm_eps"), &f) == FLINT_OK && f == 1e-6);
    v = fl_meta_find(&m, "rope_scaling");
    CHECK(v && v->type == FLINT_META_NULL);
    fl_meta_free(&m);

    TEST_GROUP("gemma3 4b (nested)");
    check_expected(FIXTURE("st/config/gemma3_4b.json"), FIXTURE("st/config/gemma3_4b.expected"), &m);
    CHECK_STR_EQ(fl_config_arch(&m), "gemma3_text");
    CHECK_STR_EQ(fl_config_architecture(&m), "Gemma3ForConditionalGeneration");
    CHECK(fl_meta_value_int(fl_meta_find_text(&m, "hidden_size"), &i) == FLINT_OK && i == 2560);
    CHECK(fl_meta_value_int(fl_meta_find(&m, "vision_config.hidden_size"), &i) == FLINT_OK && i == 1152);
    CHECK(fl_meta_value_float(fl_meta_find_text(&m, "rope_parameters.full_attention.rope_theta"), &f) == FLINT_OK &&
          f == 1e6);
    CHECK(fl_meta_value_float(fl_meta_find(&m, "text_config.rope_parameters.full_attention.factor"), &f) ==
              FLINT_OK && f == 8.0);
    CHECK(fl_meta_find(&m, "text_config") == NULL); /* objects hold no entry of their own */
    fl_meta_free(&m);

    TEST_GROUP("qwen3.5 moe");
    check_expected(FIXTURE("st/config/qwen35_moe.json"), FIXTURE("st/config/qwen35_moe.expected"), &m);
    CHECK_STR_EQ(fl_config_arch(&m), "qwen3_5_moe_text");
    v = fl_meta_find_text(&m, "layer_types");
    CHECK(v && v->type == FLINT_META_ARRAY && v->elem_type == FLINT_META_STRING && v->count == 8);
    if (v && v->count == 8) {
        CHECK_STR_EQ((const char *)v->items[0].data, "linear_attention");
        CHECK_STR_EQ((const char *)v->items[3].data, "full_attention");
        fl_meta_value tmp;
        const fl_meta_value *it;
        CHECK(fl_meta_array_at(v, 7, &tmp, &it) == FLINT_OK && it->type == FLINT_META_STRING &&
              strcmp(it->data, "full_attention") == 0);
    }
    v = fl_meta_find_text(&m, "rope_parameters.mrope_section");
    CHECK(v && v->elem_type == FLINT_META_I64 && v->count == 3 && v->items[2].num.i == 10);
    CHECK(fl_meta_value_int(fl_meta_find(&m, "eos_token_id"), &i) == FLINT_OK && i == 248046);
    CHECK(fl_meta_value_int(fl_meta_find_text(&m, "eos_token_id"), &i) == FLINT_OK && i == 248044);
    v = fl_meta_find(&m, "vision_config.deepstack_visual_indexes");
    CHECK(v && v->type == FLINT_META_ARRAY && v->count == 0 && v->elem_type == FLINT_META_NULL);
    fl_meta_free(&m);

    TEST_GROUP("edge cases");
    check_expected(FIXTURE("st/config/edge.json"), FIXTURE("st/config/edge.expected"), &m);
    CHECK_STR_EQ(fl_config_arch(&m), "");
    CHECK_STR_EQ(fl_config_architecture(&m), "");
    CHECK(fl_meta_find(&m, "empty_obj") == NULL);
    v = fl_meta_find(&m, "objs.1.sub.x");
    CHECK(v && v->type == FLINT_META_F64 && v->num.f == 0.5);
    fl_meta_free(&m);
}

static flint_status parse(const char *json) {
    size_t n = strlen(json);
    char *c = malloc(n ? n : 1); /* exact size, not NUL-terminated: asan sees over-reads */
    memcpy(c, json, n);
    fl_meta m;
    flint_status s = fl_config_parse(c, n, "bad/config.json", &m);
    CHECK(s == FLINT_OK || (m.n_kvs == 0 && m.kvs == NULL && m.n_owned == 0));
    fl_meta_free(&m);
    free(c);
    return s;
}

static char *nested(int depth) {
    char *b = malloc((size_t)depth * 6 + 16);
    size_t k = 0;
    for (int i = 0; i < depth; i++) {
        memcpy(b + k, "{\"a\":", 5);
        k += 5;
    }
    b[k++] = '1';
    memset(b + k, '}', (size_t)depth);
    k += (size_t)depth;
    b[k] = '\0';
    return b;
}

static void test_bad(void) {
    TEST_GROUP("bad configs");
    CHECK_FAILS(parse("{\"a\": 1,}"), FLINT_E_FORMAT, "bad/config.json: config is not valid JSON");
    CHECK_FAILS(parse("{\"a\": 1,}"), FLINT_E_FORMAT, "(line 1, column 9)");
    CHECK_FAILS(parse(""), FLINT_E_FORMAT, "config is not valid JSON");
    CHECK_FAILS(parse("not json"), FLINT_E_FORMAT, "config is not valid JSON");
    CHECK_FAILS(parse("[1, 2]"), FLINT_E_FORMAT, "config is not a JSON object");
    CHECK_FAILS(parse("\"gemma\""), FLINT_E_FORMAT, "config is not a JSON object");
    CHECK_FAILS(parse("{\"a\": 1, \"a\": 2}"), FLINT_E_FORMAT, "config has a duplicate key");
    CHECK_FAILS(parse("{\"t\": {\"a\": 1, \"a\": 2}}"), FLINT_E_FORMAT, "duplicate key");
    CHECK_FAILS(parse("{\"a.b\": 1, \"a\": {\"b\": 2}}"), FLINT_E_FORMAT, "duplicate metadata key 'a.b'");
    CHECK_FAILS(parse("{\"a\": 9223372036854775808}"), FLINT_E_FORMAT, "config has an integer outside int64");
    CHECK_FAILS(parse("{\"a\": \"x\\u0000y\"}"), FLINT_E_FORMAT, "config has a NUL character");
    CHECK_FAILS(parse("{\"a\": \"\xff\"}"), FLINT_E_FORMAT, "config is not valid UTF-8");
    CHECK_FAILS(parse("{\"a\": NaN}"), FLINT_E_FORMAT, "not valid JSON");
    CHECK(parse("{\"a\": -9223372036854775808}") == FLINT_OK);
    CHECK(parse("{}") == FLINT_OK);

    TEST_GROUP("deep nesting");
    char *b = nested(10000);
    CHECK_FAILS(parse(b), FLINT_E_FORMAT, "config is nested too deeply");
    free(b);
    b = nested(FL_CONFIG_MAX_DEPTH);
    CHECK(parse(b) == FLINT_OK);
    free(b);
    b = nested(FL_CONFIG_MAX_DEPTH + 1);
    CHECK_FAILS(parse(b), FLINT_E_FORMAT, "is nested more than 64 levels deep");
    free(b);
    b = malloc(20001);
    memset(b, '[', 10000);
    memset(b + 10000, ']', 10000);
    b[20000] = '\0';
    char *o = malloc(20020);
    snprintf(o, 20020, "{\"a\":%s}", b);
    CHECK_FAILS(parse(o), FLINT_E_FORMAT, "nested too deeply");
    snprintf(o, 20020, "{\"a\":%.100s%.100s}", b, b + 10000);
    CHECK_FAILS(parse(o), FLINT_E_FORMAT, "is nested more than 64 levels deep");
    snprintf(o, 20020, "{\"a\":[{\"b\":[%.70s%.70s]}]}", b, b + 10000);
    CHECK_FAILS(parse(o), FLINT_E_FORMAT, "'a.0.b");
    free(o);
    free(b);

    TEST_GROUP("size cap");
    size_t big = 17u << 20;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    memcpy(huge, "{\"a\":1}", 7);
    fl_meta m;
    CHECK_FAILS(fl_config_parse(huge, big, "big/config.json", &m), FLINT_E_FORMAT,
                "big/config.json: 17825792 bytes, more than the 16777216 allowed");
    CHECK(fl_config_parse(huge, 1u << 20, "ok/config.json", &m) == FLINT_OK && m.n_kvs == 1);
    fl_meta_free(&m);
    char dir[] = "/tmp/flint_cfg_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *p = fl_path_join(dir, "config.json");
    FILE *f = fopen(p, "wb");
    CHECK(f != NULL);
    if (f) {
        fwrite(huge, 1, big, f);
        fclose(f);
    }
    CHECK_FAILS(fl_config_load(p, &m), FLINT_E_FORMAT, "more than the 16777216 allowed");
    unlink(p);
    CHECK_FAILS(fl_config_load(p, &m), FLINT_E_IO, "config.json: cannot open");
    free(p);
    rmdir(dir);
    free(huge);
}

int main(void) {
    test_fixtures();
    test_bad();
    return test_finish("config");
}
