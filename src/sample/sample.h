/* sample.h — the sampler (flint_sampler_*, declared in flint.h): logit
 * bias, repetition/presence/frequency penalties, top-k, top-p, min-p,
 * temperature, a seeded draw, and the raw log-probabilities of a choice.
 *
 * This header adds what the tests need beyond the public API: the final
 * distribution the draw is made from. */
#ifndef FL_SAMPLE_H
#define FL_SAMPLE_H

#include <stdint.h>

#include "flint.h"

/* A candidate: while the chain runs, v is its logit; fl_sampler_dist
 * returns them with v its probability. */
typedef struct fl_sample_cand {
    int32_t id;
    float v;
} fl_sample_cand;

/* Runs the chain on logits without drawing and returns the candidates left
 * after top-k, top-p and min-p with their probabilities at the temperature
 * (greedy: the one chosen token, p = 1); *out points into the sampler and
 * is valid until its next call. Order: unspecified. 0 when no token can be
 * chosen. The random stream does not move. */
int32_t fl_sampler_dist(flint_sampler *s, const float *logits, const fl_sample_cand **out);

#endif
