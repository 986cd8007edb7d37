/* test_api.c — the public API (include/flint.h) over both file formats:
 * metadata and tensor queries on files made by the gguf and safetensors
 * Python packages, the choice of backend (params.gpu), and the error
 * contract (status + message). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flint.h"
#include "harness.h"

static void test_gguf_model(void) {
    TEST_GROUP("gguf model");
    flint_model *m = NULL;
    flint_status st = flint_model_open(FIXTURE("gguf/all_types.gguf"), NULL, &m);
    CHECK_MSG(st == FLINT_OK, "%s", flint_errmsg());
    if (st) return;
    CHECK_INT_EQ(flint_model_file_kind(m), FLINT_FILE_GGUF);
    CHECK_STR_EQ(flint_model_arch(m), "fixture");
    CHECK_INT_EQ(flint_meta_count(m), 32);
    CHECK_STR_EQ(flint_meta_key(m, 0), "general.architecture");
    CHECK(flint_meta_key(m, 32) == NULL);

    int64_t i;
    double f;
    const char *s;
    uint64_t len;
    flint_meta_type t;
    CHECK(flint_meta_get_int(m, "t.i32", &i) == FLINT_OK && i == -2147483648LL);
    CHECK(flint_meta_get_int(m, "t.u32", &i) == FLINT_OK && i == 4294967295LL);
    CHECK(flint_meta_get_int(m, "t.bool_true", &i) == FLINT_OK && i == 1);
    CHECK(flint_meta_get_float(m, "t.f64", &f) == FLINT_OK && f == 2.718281828459045);
    CHECK(flint_meta_get_float(m, "t.f32", &f) == FLINT_OK && (float)f == 3.14159265f);
    CHECK(flint_meta_get_str(m, "t.string", &s, &len) == FLINT_OK && len == 34 && !memcmp(s, "Gemma \xe2\x96\x81", 9));
    CHECK(flint_meta_type_of(m, "t.arr_nested", &t) == FLINT_OK && t == FLINT_META_ARRAY);
    CHECK(flint_meta_get_array(m, "t.arr_str", &t, &len) == FLINT_OK && t == FLINT_META_STRING && len == 6);
    CHECK(flint_meta_get_array_str(m, "t.arr_str", 2, &s, &len) == FLINT_OK && len == 6 &&
          !memcmp(s, "\xe2\x96\x81the", 6));
    CHECK(flint_meta_get_array_str(m, "t.arr_str", 1, &s, &len) == FLINT_OK && len == 0);
    CHECK_FAILS(flint_meta_get_array_str(m, "t.arr_str", 6, &s, &len), FLINT_E_INVALID_ARG, "past the end");
    CHECK_FAILS(flint_meta_get_array_str(m, "t.arr_i32", 0, &s, &len), FLINT_E_TYPE, "not a string");
    CHECK_FAILS(flint_meta_get_int(m, "no.such.key", &i), FLINT_E_NOT_FOUND, "no.such.key");
    CHECK_FAILS(flint_meta_get_str(m, "t.u8", &s, &len), FLINT_E_TYPE, "not a string");
    CHECK_FAILS(flint_meta_get_int(m, "t.string", &i), FLINT_E_TYPE, "t.string");
    CHECK_FAILS(flint_meta_get_array(m, "t.u8", &t, &len), FLINT_E_TYPE, "not an array");

    CHECK_INT_EQ(flint_tensor_count(m), 32);
    flint_tensor_info ti;
    CHECK(flint_tensor_find(m, "t.2.q4_0", &ti) == FLINT_OK);
    CHECK(ti.type == FLINT_TYPE_Q4_0 && ti.n_dims == 3 && ti.ne[0] == 32 && ti.ne[1] == 2 && ti.ne[2] == 2 &&
          ti.ne[3] == 1 && ti.size == 72 && ti.offset % 64 == 0);
    CHECK(ti.data != NULL && strstr(ti.file, "all_types.gguf") != NULL);
    CHECK_FAILS(flint_tensor_find(m, "t.2", &ti), FLINT_E_NOT_FOUND, "'t.2'");
    CHECK_FAILS(flint_tensor_get(m, 32, &ti), FLINT_E_INVALID_ARG, "out of range");
    CHECK_FAILS(flint_tensor_get(m, -1, &ti), FLINT_E_INVALID_ARG, "out of range");
    CHECK(flint_tensor_get(m, 31, &ti) == FLINT_OK && ti.type == FLINT_TYPE_MXFP4);
    flint_model_close(m);
}

static void test_hf_folder(void) {
    TEST_GROUP("hf folder");
    flint_model *m = NULL;
    flint_status st = flint_model_open(FIXTURE("st/sharded"), NULL, &m);
    CHECK_MSG(st == FLINT_OK, "%s", flint_errmsg());
    if (st) return;
    CHECK_INT_EQ(flint_model_file_kind(m), FLINT_FILE_SAFETENSORS);
    CHECK(flint_tensor_count(m) > 0);
    flint_tensor_info ti;
    CHECK(flint_tensor_get(m, 0, &ti) == FLINT_OK && ti.name && ti.data && ti.file);
    flint_tensor_info again;
    CHECK(flint_tensor_find(m, ti.name, &again) == FLINT_OK && again.data == ti.data);
    /* a folder whose tensors do not make a whole model: a clear error */
    flint_context *ctx = NULL;
    CHECK_FAILS(flint_context_create(m, NULL, &ctx), FLINT_E_FORMAT, "st/sharded: missing tensor");
    CHECK(ctx == NULL);
    int64_t i;
    CHECK(flint_meta_get_int(m, "hidden_size", &i) == FLINT_OK || flint_meta_get_int(m, "text_config.hidden_size", &i) == FLINT_OK);
    flint_model_close(m);
}

/* --chat-template: a file's template overridden by a family's name */
static void test_chat_template_override(void) {
    TEST_GROUP("chat template override");
    flint_model *m = NULL;
    flint_tokenizer *tok = NULL;
    CHECK(flint_model_open("models/tiny-gemma3.gguf", NULL, &m) == FLINT_OK);
    if (!m || flint_tokenizer_load(m, &tok)) {
        CHECK_MSG(0, "tiny model: %s", flint_errmsg());
        flint_model_close(m);
        return;
    }
    CHECK_STR_EQ(flint_chat_template_name(tok), "gemma");
    CHECK(flint_chat_template_set(tok, "chatml") == FLINT_OK);
    CHECK_STR_EQ(flint_chat_template_name(tok), "chatml");
    flint_chat_message msg = {.role = "user", .content = "hi"};
    char text[256];
    size_t len = 0;
    CHECK(flint_chat_render(tok, &msg, 1, NULL, text, sizeof text, &len) == FLINT_OK);
    CHECK_MSG(len < sizeof text && strstr(text, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"), "%s", text);
    CHECK_FAILS(flint_chat_template_set(tok, "llama3"), FLINT_E_INVALID_ARG, "'llama3'");
    CHECK_STR_EQ(flint_chat_template_name(tok), "chatml");
    CHECK(flint_chat_template_set(tok, NULL) == FLINT_OK);
    CHECK_STR_EQ(flint_chat_template_name(tok), "gemma");
    flint_tokenizer_free(tok);
    flint_model_close(m);
}

static void test_errors(void) {
    TEST_GROUP("errors");
    flint_model *m = (flint_model *)&m;
    CHECK_FAILS(flint_model_open(NULL, NULL, &m), FLINT_E_INVALID_ARG, "NULL");
    CHECK_FAILS(flint_model_open("tests/fixtures/nowhere.gguf", NULL, &m), FLINT_E_IO, "nowhere.gguf");
    CHECK(m == NULL);
    CHECK_FAILS(flint_model_open("tests", NULL, &m), FLINT_E_IO, "config.json");
    CHECK_FAILS(flint_model_open("tests/harness.h", NULL, &m), FLINT_E_FORMAT, "not a GGUF file");
    flint_model_close(NULL); /* allowed, like free(NULL) */

    CHECK_STR_EQ(flint_type_name(FLINT_TYPE_Q4_K), "Q4_K");
    CHECK_STR_EQ(flint_type_name(FLINT_TYPE_MLX_Q4), "MLX_Q4");
    CHECK(flint_type_name((flint_type)5) == NULL);
    CHECK(flint_type_name((flint_type)-1) == NULL);
    CHECK(flint_type_name(FLINT_TYPE_COUNT) == NULL);
    CHECK_STR_EQ(flint_status_name(FLINT_E_FORMAT), "FLINT_E_FORMAT");
    CHECK_STR_EQ(flint_status_name(FLINT_E_KV_FULL), "FLINT_E_KV_FULL");

    /* the KV pool's queries on no context (test_kv runs them on models) */
    CHECK(flint_context_kv_block_size(NULL) == 0 && flint_context_kv_blocks_total(NULL) == 0 &&
          flint_context_kv_blocks_free(NULL) == 0 && flint_context_kv_bytes_used(NULL) == 0);
    CHECK(flint_seq_blocks_needed(NULL, 0, 1) == -1);
    int32_t reused = 5;
    CHECK_FAILS(flint_seq_fork(NULL, 1, 0, 10, &reused), FLINT_E_INVALID_ARG, "NULL context");
    CHECK(reused == 0);
    CHECK_FAILS(flint_seq_snapshot(NULL, 0), FLINT_E_INVALID_ARG, "NULL context");

    float y[32];
    CHECK_FAILS(flint_dequantize(FLINT_TYPE_Q4_0, y, y, 31), FLINT_E_INVALID_ARG, "31");
}

/* params.gpu: "cpu" (and NULL, "") run on the CPU and say so; a value
 * naming no device is refused naming it; in a build without VULKAN=1,
 * "vulkan" and "vulkan:N" are refused saying how to get them, and the
 * engine passes its gpu through (tests/vulkan/ holds the device's side). */
static void test_gpu_choice(void) {
    TEST_GROUP("gpu choice");
    flint_model *m = NULL;
    flint_context *ctx = NULL;
    CHECK(flint_model_open("models/tiny-gemma3.gguf", NULL, &m) == FLINT_OK);
    const char *cpu[3] = {NULL, "", "cpu"};
    for (int i = 0; i < 3; i++) {
        flint_context_params cp = {.n_ctx = 16, .n_threads = 1, .gpu = cpu[i]};
        CHECK(flint_context_create(m, &cp, &ctx) == FLINT_OK);
        CHECK_STR_EQ(flint_context_device(ctx), "cpu");
        flint_context_free(ctx);
        ctx = NULL;
    }
    const char *bad[] = {"gpu", "CPU", "vulkan:", "vulkan:-1", "vulkan:1x", "vulkan0", "vulkan:12345678", "cuda"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        flint_context_params cp = {.n_ctx = 16, .gpu = bad[i]};
        char want[64];
        snprintf(want, sizeof want, "gpu '%s' names no device", bad[i]);
        CHECK_FAILS(flint_context_create(m, &cp, &ctx), FLINT_E_INVALID_ARG, want);
        CHECK(ctx == NULL);
    }
#ifndef FLINT_VULKAN
    flint_context_params cp = {.n_ctx = 16, .gpu = "vulkan:0"};
    CHECK_FAILS(flint_context_create(m, &cp, &ctx), FLINT_E_UNSUPPORTED, "build flint with make VULKAN=1");
    flint_engine *e = NULL;
    flint_engine_params ep = {.n_ctx = 16, .gpu = "vulkan"};
    CHECK_FAILS(flint_engine_create(m, &ep, &e), FLINT_E_UNSUPPORTED, "gpu 'vulkan': this build has no GPU backend");
    CHECK(e == NULL);
    ep.gpu = "cpu";
    CHECK(flint_engine_create(m, &ep, &e) == FLINT_OK);
    CHECK_STR_EQ(flint_engine_device(e), "cpu");
    flint_engine_free(e);
    int32_t n = -1;
    CHECK(flint_gpu_list(NULL, 0, &n) == FLINT_OK && n == 0);
#endif
    flint_model_close(m);
}

int main(void) {
    test_gpu_choice();
    test_gguf_model();
    test_hf_folder();
    test_chat_template_override();
    test_errors();
    return test_finish("api");
}
