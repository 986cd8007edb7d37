/* test_hparams.c — Gemma hyperparameters from the config.json shapes real
 * checkpoints use (flat 1B, nested multimodal with omitted defaults,
 * rope_parameters, Gemma 4 per-layer shapes in both spellings) and from
 * GGUF metadata as llama.cpp writes it. */
#include <math.h>
#include <string.h>

#include "format/config.h"
#include "format/gguf.h"
#include "gguf_builder.h"
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
    CHECK(hp.arch == FL_ARCH_GEMMA3 && hp.n_embd == 1152 && hp.n_layer == 26 && hp.n_head == 4 && hp.layer[0].n_head_kv == 1);
    CHECK(hp.sliding_window == 512 && hp.n_ctx_train == 32768 && hp.final_softcap == 0 && hp.norm_plus_one);
    CHECK(hp.layer[0].sliding && hp.layer[4].sliding && !hp.layer[5].sliding && hp.layer[6].sliding && !hp.layer[11].sliding);
    CHECK_NEAR(hp.attn_scale, 1.0 / 16.0, 1e-9);
    CHECK(hp.rope_full.base == 1e6f && hp.rope_sliding.base == 1e4f && hp.rope_full.scale == 1.0f && hp.rope_full.n_rot == 256);

    TEST_GROUP("gemma3 4B multimodal config");
    CHECK(from_json("{\"architectures\":[\"Gemma3ForConditionalGeneration\"],\"model_type\":\"gemma3\","
                    "\"text_config\":{\"model_type\":\"gemma3_text\",\"hidden_size\":2560,\"intermediate_size\":10240,"
                    "\"num_hidden_layers\":34,\"rope_scaling\":{\"factor\":8.0,\"rope_type\":\"linear\"},"
                    "\"sliding_window\":1024},\"vision_config\":{\"hidden_size\":1152,\"num_hidden_layers\":27}}",
                    &hp) == FLINT_OK);
    CHECK(hp.n_embd == 2560 && hp.n_layer == 34 && hp.n_head == 8 && hp.layer[33].n_head_kv == 4 && hp.layer[33].head_dim == 256);
    CHECK(hp.rope_full.scale == 8.0f && hp.rope_sliding.scale == 1.0f && hp.sliding_window == 1024);

    TEST_GROUP("rope_parameters and layer_types");
    CHECK(from_json("{\"model_type\":\"gemma3_text\",\"num_hidden_layers\":3,\"hidden_size\":64,\"intermediate_size\":128,"
                    "\"num_attention_heads\":2,\"num_key_value_heads\":1,\"head_dim\":32,\"query_pre_attn_scalar\":24,"
                    "\"layer_types\":[\"full_attention\",\"sliding_attention\",\"full_attention\"],"
                    "\"rope_parameters\":{\"full_attention\":{\"rope_type\":\"linear\",\"factor\":4.0,\"rope_theta\":500000.0},"
                    "\"sliding_attention\":{\"rope_type\":\"default\",\"rope_theta\":10000.0}},"
                    "\"final_logit_softcapping\":30.0}",
                    &hp) == FLINT_OK);
    CHECK(!hp.layer[0].sliding && hp.layer[1].sliding && !hp.layer[2].sliding);
    CHECK(hp.rope_full.base == 5e5f && hp.rope_full.scale == 4.0f && hp.final_softcap == 30.0f);
    CHECK_NEAR(hp.attn_scale, 1.0 / sqrt(24.0), 1e-7);

    TEST_GROUP("gemma 1 and 2 configs");
    CHECK(from_json("{\"model_type\":\"gemma\",\"hidden_act\":\"gelu\",\"num_hidden_layers\":18,\"hidden_size\":2048,"
                    "\"intermediate_size\":16384,\"num_attention_heads\":8,\"num_key_value_heads\":1}",
                    &hp) == FLINT_OK);
    CHECK(hp.arch == FL_ARCH_GEMMA && !hp.post_norms && !hp.qk_norm && hp.embd_scale && hp.layer[17].head_dim == 256);
    CHECK(!hp.layer[0].sliding && hp.attn_softcap == 0 && hp.final_softcap == 0 && hp.rope_full.base == 1e4f);
    CHECK_NEAR(hp.attn_scale, 1.0 / 16.0, 1e-9);
    CHECK(from_json("{\"model_type\":\"gemma2\",\"num_hidden_layers\":46,\"hidden_size\":4608,\"num_attention_heads\":32,"
                    "\"num_key_value_heads\":16,\"head_dim\":128,\"query_pre_attn_scalar\":144}",
                    &hp) == FLINT_OK);
    CHECK(hp.arch == FL_ARCH_GEMMA2 && hp.post_norms && !hp.qk_norm && hp.attn_softcap == 50 && hp.final_softcap == 30);
    CHECK(hp.layer[0].sliding && !hp.layer[1].sliding && hp.layer[44].sliding && hp.sliding_window == 4096);
    CHECK_NEAR(hp.attn_scale, 1.0 / 12.0, 1e-7);

    TEST_GROUP("gemma 4 configs");
    /* the released form: global_head_dim and num_global_key_value_heads */
    CHECK(from_json("{\"model_type\":\"gemma4\",\"text_config\":{\"model_type\":\"gemma4_text\",\"num_hidden_layers\":6,"
                    "\"hidden_size\":64,\"intermediate_size\":96,\"num_attention_heads\":4,\"num_key_value_heads\":2,"
                    "\"head_dim\":32,\"global_head_dim\":64,\"num_global_key_value_heads\":1,\"attention_k_eq_v\":true,"
                    "\"hidden_size_per_layer_input\":0,\"enable_moe_block\":true,\"num_experts\":8,\"top_k_experts\":2,"
                    "\"moe_intermediate_size\":32,\"layer_types\":[\"sliding_attention\",\"sliding_attention\","
                    "\"full_attention\",\"sliding_attention\",\"sliding_attention\",\"sliding_attention\"]}}",
                    &hp) == FLINT_OK);
    CHECK(hp.arch == FL_ARCH_GEMMA4 && !hp.norm_plus_one && hp.v_norm && hp.attn_scale == 1.0f);
    CHECK(hp.layer[0].head_dim == 32 && hp.layer[0].n_head_kv == 2 && !hp.layer[0].k_eq_v);
    CHECK(hp.layer[2].head_dim == 64 && hp.layer[2].n_head_kv == 1 && hp.layer[2].k_eq_v);
    CHECK(!hp.layer[5].sliding && hp.layer[5].head_dim == 64); /* the last layer is forced global */
    CHECK(hp.n_expert == 8 && hp.n_expert_used == 2 && hp.n_ff_exp == 32 && hp.n_embd_per_layer == 0);
    CHECK(hp.rope_full.n_rot == 64 && hp.rope_full.n_pairs == 8 && hp.rope_full.base == 1e6f);
    CHECK(hp.rope_sliding.n_rot == 32 && hp.rope_sliding.n_pairs == 0 && hp.rope_sliding.base == 1e4f);
    /* what transformers 5 saves: per_layer_config; KV sharing and double-wide MLPs */
    CHECK(from_json("{\"model_type\":\"gemma4_text\",\"num_hidden_layers\":7,\"hidden_size\":64,\"intermediate_size\":128,"
                    "\"num_attention_heads\":4,\"num_key_value_heads\":2,\"head_dim\":32,\"num_kv_shared_layers\":3,"
                    "\"use_double_wide_mlp\":true,\"hidden_size_per_layer_input\":16,"
                    "\"layer_types\":[\"sliding_attention\",\"sliding_attention\",\"full_attention\",\"sliding_attention\","
                    "\"full_attention\",\"sliding_attention\",\"full_attention\"],"
                    "\"per_layer_config\":{\"2\":{\"head_dim\":64},\"4\":{\"head_dim\":64},\"6\":{\"head_dim\":64}}}",
                    &hp) == FLINT_OK);
    CHECK(hp.layer[4].head_dim == 64 && hp.layer[5].head_dim == 32 && hp.n_embd_per_layer == 16);
    CHECK(hp.layer[3].kv_source == 3 && hp.layer[4].kv_source == 2 && hp.layer[5].kv_source == 3 &&
          hp.layer[6].kv_source == 2);
    CHECK(hp.layer[3].n_ff == 128 && hp.layer[4].n_ff == 256 && hp.layer[6].n_ff == 256);

    TEST_GROUP("qwen3.5 configs");
    CHECK(from_json("{\"model_type\":\"qwen3_5_moe\",\"text_config\":{\"model_type\":\"qwen3_5_moe_text\","
                    "\"num_hidden_layers\":8,\"hidden_size\":64,\"num_attention_heads\":4,\"num_key_value_heads\":2,"
                    "\"head_dim\":32,\"linear_num_key_heads\":2,\"linear_num_value_heads\":4,\"linear_key_head_dim\":16,"
                    "\"linear_value_head_dim\":16,\"num_experts\":8,\"num_experts_per_tok\":2,\"moe_intermediate_size\":32,"
                    "\"shared_expert_intermediate_size\":32,\"rope_parameters\":{\"rope_theta\":10000000.0,"
                    "\"partial_rotary_factor\":0.25,\"mrope_section\":[11,11,10]}}}",
                    &hp) == FLINT_OK);
    CHECK(hp.arch == FL_ARCH_QWEN35MOE && hp.norm_plus_one && hp.qk_norm && hp.attn_out_gate && !hp.embd_scale);
    CHECK(hp.layer[0].recurrent && hp.layer[2].recurrent && !hp.layer[3].recurrent && !hp.layer[7].recurrent);
    CHECK(hp.rope_full.n_rot == 8 && hp.rope_full.base == 1e7f && !hp.ssm_v_tiled && hp.ssm_conv_kernel == 4);
    CHECK(hp.ssm_n_k_heads == 2 && hp.ssm_n_v_heads == 4 && hp.ssm_d_k == 16 && hp.ssm_d_v == 16);
    CHECK(hp.n_expert == 8 && hp.n_expert_used == 2 && hp.n_ff_exp == 32 && hp.n_ff_shexp == 32);
    CHECK_NEAR(hp.attn_scale, 1.0 / sqrt(32.0), 1e-7);
    CHECK_FAILS(from_json("{\"model_type\":\"qwen3_5_text\",\"num_hidden_layers\":4,\"hidden_size\":64,"
                          "\"intermediate_size\":128,\"linear_num_key_heads\":3,\"linear_num_value_heads\":4}", &hp),
                FLINT_E_FORMAT, "DeltaNet shape");

    TEST_GROUP("qwen3.5 gguf with MTP blocks");
    gb b = {0};
    static const char *keys[] = {"qwen35.block_count", "qwen35.nextn_predict_layers", "qwen35.embedding_length",
                                 "qwen35.feed_forward_length", "qwen35.attention.head_count",
                                 "qwen35.attention.head_count_kv", "qwen35.attention.key_length",
                                 "qwen35.rope.dimension_count", "qwen35.ssm.conv_kernel", "qwen35.ssm.state_size",
                                 "qwen35.ssm.group_count", "qwen35.ssm.time_step_rank", "qwen35.ssm.inner_size",
                                 "qwen35.full_attention_interval"};
    static const uint32_t vals[] = {9, 1, 64, 128, 4, 2, 32, 8, 4, 16, 2, 4, 64, 4};
    gb_header(&b, 3, 0, 15);
    gb_kv_str(&b, "general.architecture", "qwen35");
    for (int i = 0; i < 14; i++) gb_kv_u32(&b, keys[i], vals[i]);
    gb_pad(&b, 32);
    fl_gguf q;
    CHECK(fl_gguf_parse(&q, b.p, b.n, "mtp.gguf") == FLINT_OK);
    CHECK(fl_hparams_load(&hp, &q.meta, true, "mtp.gguf") == FLINT_OK);
    CHECK(hp.arch == FL_ARCH_QWEN35 && hp.n_layer == 8 && hp.ssm_v_tiled && !hp.norm_plus_one && hp.ssm_d_v == 16);
    CHECK(hp.layer[3].n_ff == 128 && !hp.layer[3].recurrent && hp.layer[8].n_ff == 0); /* the MTP block is not a layer */
    fl_gguf_close(&q);
    gb_free(&b);

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
    CHECK(hp.n_embd == 64 && hp.n_layer == 2 && hp.n_head == 2 && hp.layer[1].n_head_kv == 1 && hp.layer[1].head_dim == 32 &&
          hp.layer[1].n_ff == 128);
    CHECK(hp.sliding_window == 64 && hp.layer[0].sliding && hp.layer[1].sliding && !hp.norm_plus_one);
    CHECK_NEAR(hp.attn_scale, 1.0 / sqrt(32.0), 1e-7);
    fl_gguf_close(&g);
    return test_finish("hparams");
}
