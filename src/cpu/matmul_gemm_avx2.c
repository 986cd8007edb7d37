/* matmul_gemm_avx2.c — AVX2 prefill GEMM micro-kernels (n > 8) of the int8
 * paths: the Q8_32 types (Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL MXFP4 MLX 4/8)
 * and the K-quants Q4_K Q5_K Q6_K (Q8_K activations). Compiled with the
 * AVX2 flags only.
 *
 * Layout (as matmul_gemm_avx512.c, at half the width): the activations are
 * packed once per call in column tiles of COLS = 8 rows of x, k-interleaved
 * so that one ymm holds the same 4 consecutive codes of the 8 rows; a
 * weight row contributes a 32-bit broadcast. A micro-tile is MR = 4 weight
 * rows x one column tile. Per task (a panel of up to FL_MM_PANEL_ROWS
 * weight rows) the panel is first unpacked into unsigned codes and
 * per-scale fields, interleaved per micro-row, which stay in L2 while every
 * column tile passes over them.
 *
 * Arithmetic. AVX2 has no vpdpbusd: vpmaddubsw multiplies the unsigned
 * weight code u by the signed activation code x (|x| <= 127) into
 * saturating 16-bit pair sums, vpmaddwd then sums pairs into 32 bits. So
 * every weight is an unsigned code u with W = d (u - off) + m:
 *   codes < 16 (Q4_0 Q4_1 MLX 4, Q4_K): a pair sum is <= 2 * 15 * 127, so
 *     8 groups of 4 elements add up in 16 bits before one vpmaddwd;
 *   codes < 32 (Q5_*, MXFP4 + 12): 4 groups; codes < 64 (Q6_K): 2 groups;
 *   8-bit codes (Q8_0 and IQ4_NL + 128, MLX 8): two nibble planes, u =
 *     16 hi + lo, each summed like 4-bit codes, then weighted 16 and 1 by
 *     vpmaddwd.
 * The offset comes back through the activation sums, in integers:
 *   Q8_32 types  dot = sum u x - off * sum x, exact, then per block
 *                acc += (float(dot) d [+ sum x * m]) * dx (one float
 *                step per block, as the AVX-512 GEMM);
 *   K-quants     vpmaddwd weights each 16-bit partial sum by its sub-block
 *                scale (6-bit; Q6_K int8), so a super-block's scaled dot is
 *                one exact int32; the mins (Q4_K, Q5_K) or the -32 of Q6_K
 *                are one more int32, sum_j mw_j * sum_j(x) over sub-blocks
 *                j, from vpmaddwd of 16-bit sub-block sums with 16-bit mw;
 *                then acc += (float(dot) d + float(mins) (-dmin)) * dx per
 *                super-block (Q6_K: float(dot + mins) d).
 * No int16 or int32 sum can overflow (bounds at the type table). y is
 * written once per micro-tile, transposed. */
#if defined(__x86_64__) || defined(__i386__)
#include "cpu/matmul_avx2.h"

/* loops over the weight rows / k-groups of a micro-tile: unrolled so that
 * the accumulator arrays live in registers */
#define UNROLL _Pragma("GCC unroll 8")
#define UNROLL2 _Pragma("GCC unroll 2")
#define COLS 8 /* column tile: 8 activation rows x 4 codes per ymm */
#define MR 4   /* weight rows per micro-tile */

/* How a weight type runs. Bounds: |x| <= 127; a 16-bit sum of `flush`
 * groups is <= flush * 2 * max(u) * 127 < 2^15; a K-quant super-block's
 * int32 sums are <= 256 * 127 * 63 * 128 (Q6_K) < 2^31. */
typedef struct gtype {
    int planes; /* 1: u < 64; 2: 8-bit u as nibble planes (x1, x16) */
    int flush;  /* groups of 4 elements per 16-bit partial sum */
    int sbg;    /* groups per weight scale (a block; a K-quant sub-block) */
    int shift;  /* Q8_32 types: u = the signed code of block32() + shift */
    int off;    /* Q8_32 types: W = d (u - off) + m */
    int np;     /* K-quants: pairs of sub-blocks in the min term */
    bool kq;    /* a K-quant (Q8_K activations) */
    bool mins;  /* Q8_32 types with a min m */
    bool fold;  /* Q6_K: the min term is scaled by d too */
} gtype;

INLINE gtype gtype_of(flint_type t) {
    switch (t) {
    case FLINT_TYPE_Q4_0: return (gtype){.planes = 1, .flush = 8, .sbg = 8, .shift = 8, .off = 8};
    case FLINT_TYPE_Q4_1: return (gtype){.planes = 1, .flush = 8, .sbg = 8, .mins = true};
    case FLINT_TYPE_Q5_0: return (gtype){.planes = 1, .flush = 4, .sbg = 8, .shift = 16, .off = 16};
    case FLINT_TYPE_Q5_1: return (gtype){.planes = 1, .flush = 4, .sbg = 8, .mins = true};
    case FLINT_TYPE_Q8_0:
    case FLINT_TYPE_IQ4_NL: return (gtype){.planes = 2, .flush = 8, .sbg = 8, .shift = 128, .off = 128};
    case FLINT_TYPE_MXFP4: return (gtype){.planes = 1, .flush = 4, .sbg = 8, .shift = 12, .off = 12};
    case FLINT_TYPE_MLX_Q4: return (gtype){.planes = 1, .flush = 8, .sbg = 8, .mins = true};
    /* block32() hands MLX 8 codes as u - 128 */
    case FLINT_TYPE_MLX_Q8: return (gtype){.planes = 2, .flush = 8, .sbg = 8, .shift = 128, .mins = true};
    case FLINT_TYPE_Q4_K: return (gtype){.planes = 1, .flush = 8, .sbg = 8, .np = 4, .kq = true};
    case FLINT_TYPE_Q5_K: return (gtype){.planes = 1, .flush = 4, .sbg = 8, .np = 4, .kq = true};
    default: /* FLINT_TYPE_Q6_K */
        return (gtype){.planes = 1, .flush = 2, .sbg = 4, .np = 8, .kq = true, .fold = true};
    }
}

/* elements per activation scale */
INLINE int64_t act_elems(const gtype *gt) { return gt->kq ? 256 : 32; }

/* r[j][i] -> r[i][j], 32-bit words */
INLINE void transpose8(__m256i r[8]) {
    __m256i t[8], u[8];
    UNROLL for (int h = 0; h < 8; h += 4) {
        t[h] = _mm256_unpacklo_epi32(r[h], r[h + 1]);
        t[h + 1] = _mm256_unpackhi_epi32(r[h], r[h + 1]);
        t[h + 2] = _mm256_unpacklo_epi32(r[h + 2], r[h + 3]);
        t[h + 3] = _mm256_unpackhi_epi32(r[h + 2], r[h + 3]);
        u[h] = _mm256_unpacklo_epi64(t[h], t[h + 2]);
        u[h + 1] = _mm256_unpackhi_epi64(t[h], t[h + 2]);
        u[h + 2] = _mm256_unpacklo_epi64(t[h + 1], t[h + 3]);
        u[h + 3] = _mm256_unpackhi_epi64(t[h + 1], t[h + 3]);
    }
    UNROLL for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2x128_si256(u[i], u[4 + i], 0x20);
        r[4 + i] = _mm256_permute2x128_si256(u[i], u[4 + i], 0x31);
    }
}

/* two 16-bit values in one 32-bit word (a vpmaddwd pair) */
INLINE int32_t pair16(int a, int b) { return (int32_t)((uint32_t)(uint16_t)a | (uint32_t)(uint16_t)b << 16); }

/* ---- activation packing ----
 * A tile of COLS rows: codes [k/4][COLS][4]; dx [k/ae][COLS]; then
 *   Q8_32  xc [k/32][COLS] int32 -off * sum(x), xs [k/32][COLS] float sum(x)
 *   Q8_K   xp [k/256][np][COLS] int32: the sums of x over sub-blocks 2p
 *          and 2p + 1 as a 16-bit pair (|sum| <= 32 * 127)
 * Rows past n are 0. */

static uint64_t tile_bytes(const gtype *gt, int64_t k) {
    const int64_t na = k / act_elems(gt);
    return (uint64_t)k * COLS + (uint64_t)na * COLS * 4 + (uint64_t)(gt->kq ? na * gt->np : 2 * na) * COLS * 4;
}

uint64_t fl_mm_avx2_pack_bytes(flint_type type, int64_t n, int64_t k) {
    const gtype gt = gtype_of(type);
    return (uint64_t)((n + COLS - 1) / COLS) * tile_bytes(&gt, k);
}

static void pack_tile(const gtype *gt, const fl_mm_act *a, uint8_t *tile, int64_t t0) {
    const int64_t k = a->k, na = k / act_elems(gt);
    for (int64_t e0 = 0; e0 < k; e0 += 32) {
        __m256i v[8];
        UNROLL for (int l = 0; l < COLS; l++)
            v[l] = t0 + l < a->n ? _mm256_loadu_si256((const __m256i *)(a->q + (t0 + l) * k + e0)) : _mm256_setzero_si256();
        transpose8(v);
        UNROLL for (int g = 0; g < 8; g++) _mm256_store_si256((__m256i *)(tile + (e0 / 4 + g) * 32), v[g]);
    }
    float *dx = (float *)(tile + (uint64_t)k * COLS);
    int32_t *xe = (int32_t *)(dx + na * COLS);
    float *xs = (float *)(xe + na * COLS);
    for (int l = 0; l < COLS; l++) {
        const int64_t c = t0 + l;
        const bool live = c < a->n;
        for (int64_t u = 0; u < na; u++) dx[u * COLS + l] = live ? a->d[c * na + u] : 0.0f;
        if (!gt->kq) {
            for (int64_t b = 0; b < na; b++) {
                const int32_t s = live ? a->sum[c * na + b] : 0;
                xe[b * COLS + l] = -gt->off * s;
                xs[b * COLS + l] = (float)s;
            }
            continue;
        }
        /* Q8_K sums are per 16 elements; a sub-block has sbg / 4 of them */
        const int per = gt->sbg / 4;
        for (int64_t u = 0; u < na; u++) {
            const int32_t *s = a->sum + c * (k / 16) + 16 * u;
            for (int p = 0; p < gt->np; p++) {
                int32_t lo = 0, hi = 0;
                for (int t = 0; live && t < per; t++) lo += s[2 * p * per + t], hi += s[(2 * p + 1) * per + t];
                xe[(u * gt->np + p) * COLS + l] = pair16(lo, hi);
            }
        }
    }
}

void fl_mm_avx2_pack_act(flint_type type, const fl_mm_act *a, void *packed, int64_t c0, int64_t c1) {
    const gtype gt = gtype_of(type);
    const uint64_t tb = tile_bytes(&gt, a->k);
    for (int64_t t0 = c0; t0 < c1; t0 += COLS) pack_tile(&gt, a, (uint8_t *)packed + (uint64_t)(t0 / COLS) * tb, t0);
}

/* ---- the unpacked panel ----
 * Per micro-row (MR weight rows), so that a micro-tile reads each array
 * through one pointer:
 *   codes [k/4][MR][planes][4] unsigned codes (planes: low nibbles, high)
 *   sc    [k/(4 sbg)][MR] K-quants: the sub-block scale twice (16-bit pair)
 *   mw    [k/256][np][MR] K-quants: the min weights of sub-blocks 2p, 2p + 1
 *         (Q4_K, Q5_K: the 6-bit mins; Q6_K: -32 * scale)
 *   ws,wm [k/ae][MR] d and m (Q8_32); d and dmin (K-quants) */
typedef struct panel {
    uint8_t *codes;
    int32_t *sc, *mw;
    float *ws, *wm;
} panel;

/* 32-bit words per weight row besides the codes */
static int64_t meta_words(const gtype *gt, int64_t k) {
    const int64_t na = k / act_elems(gt);
    return 2 * na + (gt->kq ? k / (4 * gt->sbg) + na * gt->np : 0);
}

uint64_t fl_mm_avx2_gemm_scratch_bytes(flint_type type, int64_t n, int64_t k) {
    (void)n;
    const gtype gt = gtype_of(type);
    return (uint64_t)FL_MM_PANEL_ROWS * ((uint64_t)(k * gt.planes) + 4 * (uint64_t)meta_words(&gt, k));
}

static panel panel_at(void *scratch, const gtype *gt, int64_t k, int64_t q) {
    const int64_t na = k / act_elems(gt), nsub = gt->kq ? k / (4 * gt->sbg) : 0, nmw = gt->kq ? na * gt->np : 0;
    uint8_t *codes = scratch;
    int32_t *sc = (int32_t *)(codes + FL_MM_PANEL_ROWS * k * gt->planes);
    int32_t *mw = sc + FL_MM_PANEL_ROWS * nsub;
    float *ws = (float *)(mw + FL_MM_PANEL_ROWS * nmw);
    float *wm = ws + FL_MM_PANEL_ROWS * na;
    return (panel){codes + q * MR * k * gt->planes, sc + q * MR * nsub, mw + q * MR * nmw, ws + q * MR * na,
                   wm + q * MR * na};
}

/* K-quant super-block b of a row: its scales and min weights into row i of
 * the micro-row */
INLINE void unpack_kq_scales(const flint_type t, const uint8_t *row, int64_t b, int i, const panel *pn) {
    if (t == FLINT_TYPE_Q6_K) {
        const uint8_t *blk = row + 210 * b;
        const int8_t *s = (const int8_t *)(blk + 192);
        for (int j = 0; j < 16; j++) pn->sc[(16 * b + j) * MR + i] = pair16(s[j], s[j]);
        for (int p = 0; p < 8; p++) pn->mw[(8 * b + p) * MR + i] = pair16(-32 * s[2 * p], -32 * s[2 * p + 1]);
        pn->ws[b * MR + i] = _cvtsh_ss(fl_mm_u16(blk + 208)), pn->wm[b * MR + i] = 0.0f;
        return;
    }
    const uint8_t *blk = row + (t == FLINT_TYPE_Q5_K ? 176 : 144) * b;
    int sc[8], mn[8];
    for (int j = 0; j < 8; j++) {
        fl_mm_scale_min_k4(blk + 4, j, &sc[j], &mn[j]);
        pn->sc[(8 * b + j) * MR + i] = pair16(sc[j], sc[j]);
    }
    for (int p = 0; p < 4; p++) pn->mw[(4 * b + p) * MR + i] = pair16(mn[2 * p], mn[2 * p + 1]);
    pn->ws[b * MR + i] = _cvtsh_ss(fl_mm_u16(blk)), pn->wm[b * MR + i] = _cvtsh_ss(fl_mm_u16(blk + 2));
}

/* Weight rows [r, r + nr), nr <= MR, into micro-row pn: per 32 elements,
 * the unsigned codes of each row (and plane) as one ymm, transposed so that
 * each 4 codes of the rows lie side by side. Rows past nr are 0. */
INLINE void unpack_rows(const fl_weight *w, const flint_type t, int64_t r, int nr, const panel *pn) {
    const gtype gt = gtype_of(t);
    const int64_t k = w->k;
    const int vr = MR * gt.planes; /* "rows" of the transpose: 4 or 8 */
    const __m256i lo4 = _mm256_set1_epi8(0x0f), shift = _mm256_set1_epi8((char)gt.shift);
    mlx_row mx[MR] = {{0}};
    for (int i = 0; i < nr; i++) {
        mlx_setup(w, r + i, &mx[i]);
        if (gt.kq)
            for (int64_t b = 0; b < k / 256; b++) unpack_kq_scales(t, ROW(w, r + i), b, i, pn);
    }
    for (int64_t b = 0; b < k / 32; b++) {
        __m256i v[8];
        UNROLL for (int i = 0; i < 8; i++) v[i] = _mm256_setzero_si256();
        for (int i = 0; i < nr; i++) {
            const uint8_t *row = ROW(w, r + i);
            __m256i u;
            if (t == FLINT_TYPE_Q6_K) u = q6k_codes32(row + 210 * (b / 8), (int)(b % 8));
            else if (gt.kq) u = q45k_codes32(row + (t == FLINT_TYPE_Q5_K ? 176 : 144) * (b / 8), t == FLINT_TYPE_Q5_K, (int)(b % 8));
            else {
                float d, m;
                u = _mm256_add_epi8(block32(t, row, b, &mx[i], &d, &m), shift);
                /* block32() folds 128 d into the min of MLX 8; the scalar
                 * reference keeps the bias as it is */
                if (t == FLINT_TYPE_MLX_Q8) m = mlx_scale(mx[i].st, mx[i].bi, b >> mx[i].gshift);
                pn->ws[b * MR + i] = d, pn->wm[b * MR + i] = m;
            }
            if (gt.planes == 2) {
                v[2 * i] = _mm256_and_si256(u, lo4);
                v[2 * i + 1] = _mm256_and_si256(_mm256_srli_epi16(u, 4), lo4);
            } else {
                v[i] = u;
            }
        }
        transpose8(v);
        uint8_t *dst = pn->codes + b * 8 * vr * 4;
        UNROLL for (int g = 0; g < 8; g++) {
            if (vr == 8) _mm256_storeu_si256((__m256i *)(dst + 32 * g), v[g]);
            else _mm_storeu_si128((__m128i *)(dst + 16 * g), _mm256_castsi256_si128(v[g]));
        }
    }
}

/* ---- the micro-tile ---- */

INLINE __m256i bcast32(const void *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

/* y[c][r + i] for the live columns of the tile */
INLINE void store_tile(const fl_mm_job *job, const __m256 *acc, int mr, int64_t t0, int64_t r) {
    const int64_t live = job->a->n - t0 < COLS ? job->a->n - t0 : COLS;
    float tmp[COLS];
    UNROLL for (int i = 0; i < mr; i++) {
        _mm256_storeu_ps(tmp, acc[i]);
        for (int64_t l = 0; l < live; l++) job->y[(t0 + l) * job->ldy + r + i] = tmp[l];
    }
}

/* weight rows [r, r + mr) x the tile's columns (the header's arithmetic) */
INLINE void micro(const fl_mm_job *job, const panel *pn, const uint8_t *tile, int64_t k, int64_t t0, int64_t r,
                  const int mr, const gtype gt) {
    const int64_t na = k / act_elems(&gt), spu = act_elems(&gt) / (4 * gt.sbg); /* sub-blocks per scale */
    const int wstride = MR * gt.planes * 4; /* panel bytes per group */
    const float *dx = (const float *)(tile + (uint64_t)k * COLS);
    const int32_t *xe = (const int32_t *)(dx + na * COLS);
    const float *xs = (const float *)(xe + na * COLS);
    __m256 acc[MR];
    UNROLL for (int i = 0; i < mr; i++) acc[i] = _mm256_setzero_ps();
    for (int64_t u = 0; u < na; u++) {
        __m256i ai[MR];
        const __m256i a0 = gt.kq ? _mm256_setzero_si256() : _mm256_load_si256((const __m256i *)(xe + u * COLS));
        UNROLL for (int i = 0; i < mr; i++) ai[i] = a0;
        for (int64_t s = 0; s < spu; s++) {
            const int64_t j = u * spu + s;
            const uint8_t *xt = tile + j * gt.sbg * 32;
            const uint8_t *wc = pn->codes + j * gt.sbg * wstride;
            UNROLL for (int p = 0; p < gt.planes; p++) {
                for (int f0 = 0; f0 < gt.sbg; f0 += gt.flush) {
                    __m256i s16[MR];
                    UNROLL for (int i = 0; i < mr; i++) s16[i] = _mm256_setzero_si256();
                    /* unrolled further, the compiler rebalances the 16-bit
                     * sums into trees and spills their terms */
                    UNROLL2 for (int g = f0; g < f0 + gt.flush; g++) {
                        const __m256i xv = _mm256_load_si256((const __m256i *)(xt + 32 * g));
                        UNROLL for (int i = 0; i < mr; i++) {
                            const __m256i wv = bcast32(wc + g * wstride + (i * gt.planes + p) * 4);
                            s16[i] = _mm256_add_epi16(s16[i], _mm256_maddubs_epi16(wv, xv));
                        }
                    }
                    UNROLL for (int i = 0; i < mr; i++) {
                        const __m256i m16 = gt.kq ? bcast32(pn->sc + j * MR + i) : _mm256_set1_epi16(p ? 16 : 1);
                        ai[i] = _mm256_add_epi32(ai[i], _mm256_madd_epi16(s16[i], m16));
                    }
                }
            }
        }
        /* the float steps of the scalar reference, in its order */
        const __m256 dxv = _mm256_load_ps(dx + u * COLS);
        if (!gt.kq) {
            const __m256 xsv = _mm256_load_ps(xs + u * COLS);
            UNROLL for (int i = 0; i < mr; i++) {
                const __m256 ddx = _mm256_mul_ps(_mm256_set1_ps(pn->ws[u * MR + i]), dxv);
                acc[i] = _mm256_add_ps(acc[i], _mm256_mul_ps(ddx, _mm256_cvtepi32_ps(ai[i])));
                if (gt.mins) {
                    const __m256 mdx = _mm256_mul_ps(_mm256_set1_ps(pn->wm[u * MR + i]), dxv);
                    acc[i] = _mm256_add_ps(acc[i], _mm256_mul_ps(mdx, xsv));
                }
            }
            continue;
        }
        UNROLL for (int i = 0; i < mr; i++) {
            __m256i im = _mm256_setzero_si256();
            UNROLL for (int p = 0; p < gt.np; p++)
                im = _mm256_add_epi32(im, _mm256_madd_epi16(_mm256_load_si256((const __m256i *)(xe + (u * gt.np + p) * COLS)),
                                                            bcast32(pn->mw + (u * gt.np + p) * MR + i)));
            const __m256 d = _mm256_set1_ps(pn->ws[u * MR + i]);
            __m256 f;
            if (gt.fold) {
                f = _mm256_mul_ps(_mm256_mul_ps(d, dxv), _mm256_cvtepi32_ps(_mm256_add_epi32(ai[i], im)));
            } else {
                const __m256 dm = _mm256_mul_ps(_mm256_set1_ps(pn->wm[u * MR + i]), _mm256_cvtepi32_ps(im));
                f = _mm256_mul_ps(dxv, _mm256_sub_ps(_mm256_mul_ps(d, _mm256_cvtepi32_ps(ai[i])), dm));
            }
            acc[i] = _mm256_add_ps(acc[i], f);
        }
    }
    store_tile(job, acc, mr, t0, r);
}

INLINE void gemm_t(const fl_mm_job *job, int64_t r0, int64_t r1, void *scratch, const flint_type t) {
    const fl_weight *w = job->w;
    const gtype gt = gtype_of(t);
    const int64_t k = w->k, rows = r1 - r0;
    for (int64_t q = 0; q * MR < rows; q++) {
        const panel pn = panel_at(scratch, &gt, k, q);
        unpack_rows(w, t, r0 + q * MR, rows - q * MR < MR ? (int)(rows - q * MR) : MR, &pn);
    }
    const uint8_t *packed = job->a->packed;
    const uint64_t tb = tile_bytes(&gt, k);
    for (int64_t t0 = 0; t0 < job->a->n; t0 += COLS) {
        const uint8_t *tile = packed + (uint64_t)(t0 / COLS) * tb;
        for (int64_t rp = 0; rp < rows; rp += MR) {
            const panel pn = panel_at(scratch, &gt, k, rp / MR);
            switch (rows - rp) {
            case 1: micro(job, &pn, tile, k, t0, r0 + rp, 1, gt); break;
            case 2: micro(job, &pn, tile, k, t0, r0 + rp, 2, gt); break;
            case 3: micro(job, &pn, tile, k, t0, r0 + rp, 3, gt); break;
            default: micro(job, &pn, tile, k, t0, r0 + rp, MR, gt); break;
            }
        }
    }
}

void fl_mm_avx2_gemm_int8(const fl_mm_job *job, int64_t r0, int64_t r1, void *scratch) {
    switch (job->w->type) {
    case FLINT_TYPE_Q4_0: gemm_t(job, r0, r1, scratch, FLINT_TYPE_Q4_0); break;
    case FLINT_TYPE_Q4_1: gemm_t(job, r0, r1, scratch, FLINT_TYPE_Q4_1); break;
    case FLINT_TYPE_Q5_0: gemm_t(job, r0, r1, scratch, FLINT_TYPE_Q5_0); break;
    case FLINT_TYPE_Q5_1: gemm_t(job, r0, r1, scratch, FLINT_TYPE_Q5_1); break;
    case FLINT_TYPE_Q8_0: gemm_t(job, r0, r1, scratch, FLINT_TYPE_Q8_0); break;
    case FLINT_TYPE_IQ4_NL: gemm_t(job, r0, r1, scratch, FLINT_TYPE_IQ4_NL); break;
    case FLINT_TYPE_MXFP4: gemm_t(job, r0, r1, scratch, FLINT_TYPE_MXFP4); break;
    case FLINT_TYPE_MLX_Q4: gemm_t(job, r0, r1, scratch, FLINT_TYPE_MLX_Q4); break;
    case FLINT_TYPE_MLX_Q8: gemm_t(job, r0, r1, scratch, FLINT_TYPE_MLX_Q8); break;
    case FLINT_TYPE_Q4_K: gemm_t(job, r0, r1, scratch, FLINT_TYPE_Q4_K); break;
    case FLINT_TYPE_Q5_K: gemm_t(job, r0, r1, scratch, FLINT_TYPE_Q5_K); break;
    default: gemm_t(job, r0, r1, scratch, FLINT_TYPE_Q6_K); break;
    }
}

#endif
