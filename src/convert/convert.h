/* convert.h — `flint convert`: a Hugging Face folder or a GGUF file to a
 * GGUF file that llama.cpp reads, with llama.cpp's converter's names,
 * metadata, transforms and F32 rules (convert_hf_to_gguf.py at 34af94cd9)
 * and llama-quantize's per-tensor type rules for the quantized types.
 * The output is written to OUT.tmp and renamed when complete. */
#ifndef FL_CONVERT_CONVERT_H
#define FL_CONVERT_CONVERT_H

#include <stdbool.h>
#include <stdint.h>

#include "flint.h"

typedef struct fl_convert_params {
    const char *src;     /* HF folder or .gguf */
    const char *out;     /* output path */
    const char *type;    /* F32 F16 BF16 Q8_0 Q4_0 Q4_K Q5_K Q6_K Q4_K_M Q5_K_M (any case) */
    bool force;          /* replace an existing output */
    int32_t n_threads;   /* 0: the physical cores */
    /* Called after each tensor (may be NULL): bytes written so far of total. */
    void (*progress)(void *user, uint64_t done, uint64_t total);
    /* Called once per warning (may be NULL; else warnings go nowhere). */
    void (*warn)(void *user, const char *msg);
    void *user;
} fl_convert_params;

flint_status fl_convert(const fl_convert_params *p);

#endif
