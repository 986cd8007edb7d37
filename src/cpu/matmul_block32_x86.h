/* matmul_block32_x86.h — the 32-element block decoder shared by the AVX2
 * and AVX-512 matmul files (both compile it with at least AVX2): block b of
 * a weight row as 32 signed codes in element order, its scale d and min m
 * (y = d * code + m), for Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, MXFP4 and
 * MLX 4/8-bit. Included, not compiled on its own: the includer defines
 * INLINE and q5_high() (which differs per ISA) first. */
#ifndef FL_CPU_MATMUL_BLOCK32_X86_H
#define FL_CPU_MATMUL_BLOCK32_X86_H

/* 32 nibbles of 16 bytes: the low nibbles, then the high ones */
INLINE __m256i nibbles32(const uint8_t *qs) {
    __m128i v = _mm_loadu_si128((const __m128i *)qs);
    const __m128i lo4 = _mm_set1_epi8(0x0f);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), lo4), _mm_and_si128(v, lo4));
}

INLINE __m256i lut16(__m256i idx, const int8_t *table) {
    __m256i t = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)table));
    return _mm256_shuffle_epi8(t, idx);
}

typedef struct mlx_row {
    const uint8_t *sc, *bi;
    flint_type st;
    int gshift; /* log2(group_size / 32): block b is in group b >> gshift */
} mlx_row;

/* an MLX scale or bias as f32, inline (the hot loop of MLX rows) */
INLINE float mlx_scale(flint_type t, const uint8_t *p, int64_t g) {
    if (t == FLINT_TYPE_F16) return _cvtsh_ss(fl_mm_u16(p + 2 * g));
    uint32_t u = (uint32_t)fl_mm_u16(p + 2 * g) << 16;
    float f;
    if (t == FLINT_TYPE_F32) memcpy(&u, p + 4 * g, 4);
    memcpy(&f, &u, 4);
    return f;
}

INLINE __m256i block32(const flint_type t, const uint8_t *row, int64_t b, const mlx_row *mx, float *d, float *m) {
    switch (t) {
    case FLINT_TYPE_Q4_0: {
        const uint8_t *p = row + 18 * b;
        *d = _cvtsh_ss(fl_mm_u16(p)), *m = 0.0f;
        return _mm256_sub_epi8(nibbles32(p + 2), _mm256_set1_epi8(8));
    }
    case FLINT_TYPE_Q4_1: {
        const uint8_t *p = row + 20 * b;
        *d = _cvtsh_ss(fl_mm_u16(p)), *m = _cvtsh_ss(fl_mm_u16(p + 2));
        return nibbles32(p + 4);
    }
    case FLINT_TYPE_Q5_0: {
        const uint8_t *p = row + 22 * b;
        *d = _cvtsh_ss(fl_mm_u16(p)), *m = 0.0f;
        return _mm256_sub_epi8(_mm256_or_si256(nibbles32(p + 6), q5_high(p + 2)), _mm256_set1_epi8(16));
    }
    case FLINT_TYPE_Q5_1: {
        const uint8_t *p = row + 24 * b;
        *d = _cvtsh_ss(fl_mm_u16(p)), *m = _cvtsh_ss(fl_mm_u16(p + 2));
        return _mm256_or_si256(nibbles32(p + 8), q5_high(p + 4));
    }
    case FLINT_TYPE_Q8_0: {
        const uint8_t *p = row + 34 * b;
        *d = _cvtsh_ss(fl_mm_u16(p)), *m = 0.0f;
        return _mm256_loadu_si256((const __m256i *)(p + 2));
    }
    case FLINT_TYPE_IQ4_NL: {
        const uint8_t *p = row + 18 * b;
        *d = _cvtsh_ss(fl_mm_u16(p)), *m = 0.0f;
        return lut16(nibbles32(p + 2), fl_mm_kvalues_iq4nl);
    }
    case FLINT_TYPE_MXFP4: {
        const uint8_t *p = row + 17 * b;
        *d = fl_mm_e8m0_half(p[0]), *m = 0.0f;
        return lut16(nibbles32(p + 1), fl_mm_kvalues_mxfp4);
    }
    case FLINT_TYPE_MLX_Q4: {
        /* element 2t in the low nibble of byte t */
        const int64_t g = b >> mx->gshift;
        *d = mlx_scale(mx->st, mx->sc, g), *m = mlx_scale(mx->st, mx->bi, g);
        __m128i v = _mm_loadu_si128((const __m128i *)(row + 16 * b));
        const __m128i lo4 = _mm_set1_epi8(0x0f);
        __m128i lo = _mm_and_si128(v, lo4), hi = _mm_and_si128(_mm_srli_epi16(v, 4), lo4);
        return _mm256_set_m128i(_mm_unpackhi_epi8(lo, hi), _mm_unpacklo_epi8(lo, hi));
    }
    default: { /* FLINT_TYPE_MLX_Q8: codes - 128 signed, the min absorbs 128 * scale */
        const int64_t g = b >> mx->gshift;
        *d = mlx_scale(mx->st, mx->sc, g);
        *m = mlx_scale(mx->st, mx->bi, g) + 128.0f * *d;
        return _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(row + 32 * b)), _mm256_set1_epi8((char)0x80));
    }
    }
}

INLINE void mlx_setup(const fl_weight *w, int64_t r, mlx_row *mx) {
    if (w->type != FLINT_TYPE_MLX_Q4 && w->type != FLINT_TYPE_MLX_Q8) return;
    const int64_t ng = w->k / w->group_size, sb = fl_mm_mlx_scale_bytes(w->scale_type);
    mx->sc = (const uint8_t *)w->scales + (uint64_t)r * (uint64_t)(ng * sb);
    mx->bi = (const uint8_t *)w->biases + (uint64_t)r * (uint64_t)(ng * sb);
    mx->st = w->scale_type;
    mx->gshift = w->group_size == 32 ? 0 : w->group_size == 64 ? 1 : 2;
}

INLINE bool has_min(flint_type t) {
    return t == FLINT_TYPE_Q4_1 || t == FLINT_TYPE_Q5_1 || t == FLINT_TYPE_MLX_Q4 || t == FLINT_TYPE_MLX_Q8;
}

#endif
