/* sample.h — choosing the next token from logits: greedy, temperature,
 * top-k, top-p, min-p, repetition and presence penalties, seeded.
 *
 * Chain (the order llama.cpp's default sampler applies): penalties over the
 * last penalty_last_n accepted tokens -> top-k -> top-p -> min-p ->
 * temperature -> a draw from the softmax. temperature <= 0 is greedy (the
 * highest logit after penalties; the lowest id on ties). The same params,
 * seed and inputs give the same tokens. All memory is allocated at create;
 * sampling does not allocate. */
#ifndef FL_SAMPLE_H
#define FL_SAMPLE_H

#include <stdint.h>

#include "flint.h"

typedef struct fl_sampler_params {
    float temperature;       /* <= 0: greedy */
    int32_t top_k;           /* <= 0: off */
    float top_p;             /* <= 0 or >= 1: off */
    float min_p;             /* <= 0: off; keep tokens with p >= min_p * p_max */
    float repeat_penalty;    /* 0 or 1: off; logit > 0 ? logit / r : logit * r */
    float presence_penalty;  /* 0: off; logit -= presence for tokens seen */
    int32_t penalty_last_n;  /* window of accepted tokens the penalties see; <= 0: 64 */
    uint64_t seed;
} fl_sampler_params;

typedef struct fl_sampler fl_sampler;

/* n_vocab: the number of logits sample() sees (pass the real vocabulary
 * size, not padded rows, so padding is never chosen). */
flint_status fl_sampler_create(const fl_sampler_params *params, int32_t n_vocab, fl_sampler **out);
void fl_sampler_free(fl_sampler *s);

/* The next token for logits[0..n_vocab) (not modified). */
int32_t fl_sampler_sample(fl_sampler *s, const float *logits);
/* Records a token of the sequence (prompt or generated) for the penalties. */
void fl_sampler_accept(fl_sampler *s, int32_t token);
/* Forgets the history and restarts the random stream from the seed. */
void fl_sampler_reset(fl_sampler *s);

#endif
