/* test_hparams.c — Gemma 3 hyperparameters from the config.json shapes
 * real checkpoints use (flat 1B, nested multimodal with omitted defaults,
 * rope_parameters) and from GGUF metadata as llama.cpp writes it. */
#include <math.h>
#include <string.h>

#include "format/config.h"
#include "format/gguf.h"
#include "harness.h"
#include "model/hparams.h"

static flint_status from_json(const char *json, fl_hparams *hp) {
    fl_meta meta;
    flint_status st = fl_config_parse(json, strlen(json), "config.json", &meta);
    if (st) return st;
    st = fl_hparams_load(hp, &meta, false, "config.json");
    fl_meta_free(&meta);
    return st;
}

int main(void) {
    fl_hparams hp;
    TEST_GROUP("gemma3 1B config");
    CHECK(from_json("{\"architectures\":[\"Gemma3ForCausalLM\"],\"model_type\":\"gemma3_text\",\"hidden_size\":1152,"
                    "\"intermediate_size\":6912,\"num_hidden_layers\":26,\"num_attention_heads\":4,"
                    "\"num_key_value_heads\":1,\"head_dim\":256,\"query_pre_attn_scalar\":256,\"sliding_window\":512,"
                    "\"sliding_window_pattern\":6,\"rope_theta\":1000000.0,\"rope_local_base_freq\":10000.0,"
                    "\"rope_scaling\":null,\"rms_norm_eps\":1e-06,\"final_logit_softcapping\":null,"
                    "\"max_position_embeddings\":32768,\"vocab_size\":262144}",
                    &hp) == FLINT_OK);
    CHECK(hp.arch == FL_ARCH_GEMMA3 && hp.n_embd == 1152 && hp.n_layer == 26 && hp.n_head == 4 && hp.n_head_kv == 1);
    CHECK(hp.sliding_window == 512 && hp.n_ctx_train == 32768 && hp.final_softcap == 0 && hp.norm_plus_one);
    CHECK(hp.layer_sliding[0] && hp.layer_sliding[4] && !hp.layer_sliding[5] && hp.layer_sliding[6] && !hp.layer_sliding[11]);
    CHECK_NEAR(hp.attn_scale, 1.0 / 16.0, 1e-9);
    CHECK(hp.rope_base_global == 1e6f && hp.rope_base_local == 1e4f && hp.rope_scale_global == 1.0f);

    TEST_GROUP("gemma3 4B multimodal config");
    CHECK(from_json("{\"architectures\":[\"Gemma3ForConditionalGeneration\"],\"model_type\":\"gemma3\","
                    "\"text_config\":{\"model_type\":\"gemma3_text\",\"hidden_size\":2560,\"intermediate_size\":10240,"
                    "\"num_hidden_layers\":34,\"rope_scaling\":{\"factor\":8.0,\"rope_type\":\"linear\"},"
                    "\"sliding_window\":1024},\"vision_config\":{\"hidden_size\":1152,\"num_hidden_layers\":27}}",
                    &hp) == FLINT_OK);
    CHECK(hp.n_embd == 2560 && hp.n_layer == 34 && hp.n_head == 8 && hp.n_head_kv == 4 && hp.head_dim == 256);
    CHECK(hp.rope_scale_global == 8.0f && hp.sliding_window == 1024);

    TEST_GROUP("rope_parameters and layer_types");
    CHECK(from_json("{\"model_type\":\"gemma3_text\",\"num_hidden_layers\":3,\"hidden_size\":64,\"intermediate_size\":128,"
                    "\"num_attention_heads\":2,\"num_key_value_heads\":1,\"head_dim\":32,\"query_pre_attn_scalar\":24,"
                    "\"layer_types\":[\"full_attention\",\"sliding_attention\",\"full_attention\"],"
                    "\"rope_parameters\":{\"full_attention\":{\"rope_type\":\"linear\",\"factor\":4.0,\"rope_theta\":500000.0},"
                    "\"sliding_attention\":{\"rope_type\":\"default\",\"rope_theta\":10000.0}},"
                    "\"final_logit_softcapping\":30.0}",
                    &hp) == FLINT_OK);
    CHECK(!hp.layer_sliding[0] && hp.layer_sliding[1] && !hp.layer_sliding[2]);
    CHECK(hp.rope_base_global == 5e5f && hp.rope_scale_global == 4.0f && hp.final_softcap == 30.0f);
    CHECK_NEAR(hp.attn_scale, 1.0 / sqrt(24.0), 1e-7);

    TEST_GROUP("bad configs");
    CHECK_FAILS(from_json("{\"model_type\":\"llama\"}", &hp), FLINT_E_UNSUPPORTED, "'llama' is not supported");
    CHECK_FAILS(from_json("{\"model_type\":\"gemma3_text\",\"num_hidden_layers\":\"many\"}", &hp), FLINT_E_FORMAT,
                "num_hidden_layers");
    CHECK_FAILS(from_json("{\"model_type\":\"gemma3_text\",\"num_hidden_layers\":2,\"layer_types\":[\"full_attention\"]}", &hp),
                FLINT_E_FORMAT, "layer_types lists 1 layers, not 2");
    CHECK_FAILS(from_json("{\"model_type\":\"gemma3_text\",\"num_attention_heads\":6,\"num_key_value_heads\":4}", &hp),
                FLINT_E_FORMAT, "not a multiple");
    CHECK_FAILS(from_json("{\"model_type\":\"gemma3_text\",\"rope_scaling\":{\"rope_type\":\"yarn\"}}", &hp),
                FLINT_E_UNSUPPORTED, "yarn");
    CHECK_FAILS(from_json("{\"model_type\":\"gemma3_text\",\"num_hidden_layers\":100000}", &hp), FLINT_E_FORMAT,
                "100000 layers");

    TEST_GROUP("gemma3 gguf");
    fl_gguf g;
    CHECK(fl_gguf_open(&g, "models/tiny-gemma3.gguf") == FLINT_OK);
    CHECK(fl_hparams_load(&hp, &g.meta, true, "tiny") == FLINT_OK);
    CHECK(hp.n_embd == 64 && hp.n_layer == 2 && hp.n_head == 2 && hp.n_head_kv == 1 && hp.head_dim == 32 && hp.n_ff == 128);
    CHECK(hp.sliding_window == 64 && hp.layer_sliding[0] && hp.layer_sliding[1] && !hp.norm_plus_one);
    CHECK_NEAR(hp.attn_scale, 1.0 / sqrt(32.0), 1e-7);
    fl_gguf_close(&g);
    return test_finish("hparams");
}
