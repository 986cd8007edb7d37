/* matmul_gemm_avx512.c — AVX-512 prefill GEMM micro-kernels (n >= 16):
 *   int8  the Q8_32 types (Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL MXFP4 MLX 4/8)
 *         with vpdpbusd;
 *   f32   F32, F16 and BF16 weights (each k-block of a panel converted to
 *         f32 once) with FMA on f32 activations. vpdpbf16ps would need x
 *         rounded to bf16 (a 1e-2 logit error on the BF16 model tests) and
 *         measures no faster than FMA on this Xeon (bench_matmul prints
 *         both peaks), so it is not used.
 *
 * Layout: the activations are packed once per call in column tiles of 16
 * rows of x (int8 codes biased by +128 here), k-interleaved so that one
 * zmm holds the same 4 (int8) or 1 (f32) consecutive elements of 16 rows;
 * a weight row contributes a 32-bit broadcast. A micro-tile is MR = 8
 * weight rows x 16 activation rows with the accumulators in registers, so
 * each x load feeds 8 dot instructions.
 * Per task (a panel of up to FL_MM_PANEL_ROWS weight rows) the int8 path
 * first unpacks the panel into signed codes plus per-block scale, min and
 * the -128 * sum(codes) term (the activations are biased by +128 for the
 * unsigned operand of vpdpbusd), which stays in L2 while every column tile
 * passes over it. y is written once per micro-tile, transposed. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "cpu/matmul_avx512.h"

#define INLINE static inline __attribute__((always_inline))
/* loops over the activation rows / weight rows of a micro-tile: unrolled
 * so that the accumulator arrays live in registers */
#define UNROLL _Pragma("GCC unroll 8")
#define COLS 16
#define MR 8

/* ---- activation packing ---- */

static bool is_float(flint_type t) { return t == FLINT_TYPE_F32 || t == FLINT_TYPE_F16 || t == FLINT_TYPE_BF16; }

static uint64_t tile_bytes(flint_type type, int64_t k) {
    if (is_float(type)) return (uint64_t)k * 64;
    return (uint64_t)k * COLS + (uint64_t)(k / 32) * COLS * 8; /* codes, dx, dx * sum */
}

uint64_t fl_mm_avx512_pack_bytes(flint_type type, int64_t n, int64_t k) {
    return (uint64_t)((n + COLS - 1) / COLS) * tile_bytes(type, k);
}

void fl_mm_avx512_pack_act(flint_type type, const fl_mm_act *a, void *packed, int64_t c0, int64_t c1) {
    const int64_t k = a->k;
    for (int64_t t0 = c0; t0 < c1; t0 += COLS) {
        uint8_t *tile = (uint8_t *)packed + (uint64_t)(t0 / COLS) * tile_bytes(type, k);
        for (int l = 0; l < COLS; l++) {
            const int64_t c = t0 + l;
            const bool live = c < a->n;
            if (is_float(type)) {
                const float *x = a->f32 + c * k;
                float *dst = (float *)tile + l;
                for (int64_t i = 0; i < k; i++) dst[COLS * i] = live ? x[i] : 0.0f;
                continue;
            }
            const int64_t nb = k / 32;
            const int8_t *x = a->q + c * k;
            for (int64_t g = 0; g < k / 4; g++) {
                if (live) {
                    uint32_t v;
                    memcpy(&v, x + 4 * g, 4);
                    v ^= 0x80808080u; /* biased: the unsigned operand of vpdpbusd */
                    memcpy(tile + 64 * g + 4 * l, &v, 4);
                }
                else memset(tile + 64 * g + 4 * l, 0, 4);
            }
            float *dx = (float *)(tile + (uint64_t)k * COLS), *dxs = dx + nb * COLS;
            for (int64_t b = 0; b < nb; b++) {
                dx[b * COLS + l] = live ? a->d[c * nb + b] : 0.0f;
                dxs[b * COLS + l] = live ? a->d[c * nb + b] * (float)a->sum[c * nb + b] : 0.0f;
            }
        }
    }
}

/* f32 blocking (see the f32 section) */
#define FNT 3
#define FKC 64
#define WLD (FKC + 16)     /* floats per converted weight row */
#define CB_LD (FNT * COLS) /* floats per cbuf row */

static uint64_t f32_cbuf_bytes(int64_t n) {
    const uint64_t groups = (uint64_t)((n + COLS * FNT - 1) / (COLS * FNT));
    return groups * FL_MM_PANEL_ROWS * CB_LD * 4;
}

uint64_t fl_mm_avx512_gemm_scratch_bytes(flint_type type, int64_t n, int64_t k) {
    if (is_float(type)) return f32_cbuf_bytes(n) + (uint64_t)FL_MM_PANEL_ROWS * WLD * 4 + 64;
    return (uint64_t)FL_MM_PANEL_ROWS * ((uint64_t)k + (uint64_t)(k / 32) * 12) + 256;
}

/* y[c][r0 + r] for the live columns of a tile */
INLINE void store_tile(const fl_mm_job *job, const __m512 *acc, int mr, int64_t t0, int64_t r) {
    const int64_t live = job->a->n - t0 < COLS ? job->a->n - t0 : COLS;
    float tmp[COLS];
    UNROLL for (int i = 0; i < mr; i++) {
        _mm512_storeu_ps(tmp, acc[i]);
        for (int64_t l = 0; l < live; l++) job->y[(t0 + l) * job->ldy + r + i] = tmp[l];
    }
}

INLINE __m512i bcast32(const void *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

/* ---- int8: Q8_32 types ---- */

typedef struct panel {
    const int8_t *codes; /* [rows][k] signed */
    const float *dw, *wm; /* [rows][nb] scale, min */
    const int32_t *corr;  /* [rows][nb] -128 * sum of the block's codes */
    int64_t k, nb;
} panel;

INLINE void micro_b32(const fl_mm_job *job, const panel *pn, const uint8_t *tile, int64_t t0, int64_t rp,
                      const int mr, const bool mins, int64_t r0) {
    const int64_t k = pn->k, nb = pn->nb;
    const float *dx = (const float *)(tile + (uint64_t)k * COLS), *dxs = dx + nb * COLS;
    __m512 acc[MR];
    UNROLL for (int i = 0; i < mr; i++) acc[i] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        __m512i ai[MR];
        UNROLL for (int i = 0; i < mr; i++) ai[i] = _mm512_set1_epi32(pn->corr[(rp + i) * nb + b]);
        const uint8_t *xt = tile + (uint64_t)b * 32 * COLS;
        const int8_t *wc = pn->codes + rp * k + 32 * b;
        UNROLL for (int g = 0; g < 8; g++) {
            __m512i xv = _mm512_load_si512(xt + 64 * g);
            UNROLL for (int i = 0; i < mr; i++) ai[i] = _mm512_dpbusd_epi32(ai[i], xv, bcast32(wc + i * k + 4 * g));
        }
        __m512 dxv = _mm512_load_ps(dx + b * COLS);
        UNROLL for (int i = 0; i < mr; i++)
            acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ai[i]), _mm512_mul_ps(dxv, _mm512_set1_ps(pn->dw[(rp + i) * nb + b])),
                                     acc[i]);
        if (mins) {
            __m512 sv = _mm512_load_ps(dxs + b * COLS);
            UNROLL for (int i = 0; i < mr; i++) acc[i] = _mm512_fmadd_ps(sv, _mm512_set1_ps(pn->wm[(rp + i) * nb + b]), acc[i]);
        }
    }
    store_tile(job, acc, mr, t0, r0 + rp);
}


void fl_mm_avx512_gemm_b32(const fl_mm_job *job, int64_t r0, int64_t r1, void *scratch) {
    const fl_weight *w = job->w;
    const int64_t k = w->k, nb = k / 32, rows = r1 - r0;
    /* unpack the panel: codes first (64-byte aligned rows when k allows) */
    int8_t *codes = scratch;
    float *dw = (float *)(codes + ((rows * k + 63) & ~(int64_t)63));
    float *wm = dw + rows * nb;
    int32_t *corr = (int32_t *)(wm + rows * nb);
    bool mins = false;
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t b = 0; b < nb; b++) {
            int8_t *cb = codes + r * k + 32 * b;
            fl_mm_avx512_block32(w, r0 + r, b, cb, &dw[r * nb + b], &wm[r * nb + b]);
            mins |= wm[r * nb + b] != 0.0f;
            __m256i v = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)cb));
            __m256i u = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(cb + 16)));
            __m256i s = _mm256_madd_epi16(_mm256_add_epi16(v, u), _mm256_set1_epi16(1));
            __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
            h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
            h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
            corr[r * nb + b] = -128 * _mm_cvtsi128_si32(h);
        }
    }
    const panel pn = {codes, dw, wm, corr, k, nb};
    const uint8_t *packed = job->a->packed;
    const uint64_t tb = tile_bytes(w->type, k);
    for (int64_t t0 = 0; t0 < job->a->n; t0 += COLS) {
        const uint8_t *tile = packed + (uint64_t)(t0 / COLS) * tb;
        for (int64_t rp = 0; rp < rows; rp += MR) {
            const int mr = rows - rp < MR ? (int)(rows - rp) : MR;
#define CALL(N) (mins ? micro_b32(job, &pn, tile, t0, rp, N, true, r0) : micro_b32(job, &pn, tile, t0, rp, N, false, r0))
            FL_MM_DISPATCH8(mr, CALL)
#undef CALL
        }
    }
}

/* ---- f32 ----
 * Micro-tile: MR weight rows x FNT column tiles (16 activation rows each),
 * MR * FNT = 24 accumulators in zmm, so per k step FNT x loads and MR
 * broadcasts feed 24 FMAs. k is blocked by FKC: per k-block the panel's
 * weights are converted (or, for F32, copied) to f32 rows FKC + 16 floats
 * apart (so that the MR rows fall in different L1 sets), 64 * (FKC + 16)
 * floats in L1/L2, then every column group's x block (FNT * FKC * 64
 * bytes, L1: the two vCPUs share a core) passes over the panel's micro-rows.
 * The partial sums stay in cbuf (panel rows x all columns, L2) between
 * k-blocks and are written to y, transposed, once. Each output keeps one
 * accumulation chain in k order. */
INLINE void micro_f32(const float *w, const float *x0, const float *pf, uint64_t tstride, float *cb, int64_t kc,
                      bool first, const int mr, const int nt) {
    __m512 acc[MR][FNT];
    if (first) {
        UNROLL for (int i = 0; i < mr; i++) UNROLL for (int j = 0; j < nt; j++) acc[i][j] = _mm512_setzero_ps();
    }
    else {
        UNROLL for (int i = 0; i < mr; i++) UNROLL for (int j = 0; j < nt; j++) acc[i][j] = _mm512_loadu_ps(cb + i * CB_LD + j * COLS);
    }
    for (int64_t g = 0; g < kc; g++) {
        __m512 xv[FNT];
        UNROLL for (int j = 0; j < nt; j++) xv[j] = _mm512_load_ps(x0 + j * tstride + COLS * g);
        if (pf) UNROLL for (int j = 0; j < FNT; j++) _mm_prefetch((const char *)(pf + j * tstride + COLS * g), _MM_HINT_T0);
        UNROLL for (int i = 0; i < mr; i++) {
            const __m512 b = _mm512_set1_ps(w[i * WLD + g]);
            UNROLL for (int j = 0; j < nt; j++) acc[i][j] = _mm512_fmadd_ps(xv[j], b, acc[i][j]);
        }
    }
    UNROLL for (int i = 0; i < mr; i++) UNROLL for (int j = 0; j < nt; j++) _mm512_storeu_ps(cb + i * CB_LD + j * COLS, acc[i][j]);
}

static void micro_f32_any(const float *w, const float *x0, const float *pf, uint64_t tstride, float *cb, int64_t kc,
                          bool first, int mr, int nt) {
#define MC(R, T) \
    case R * 4 + T: \
        if (pf) micro_f32(w, x0, pf, tstride, cb, kc, first, R, T); \
        else micro_f32(w, x0, NULL, tstride, cb, kc, first, R, T); \
        break;
#define MCR(R) MC(R, 1) MC(R, 2) MC(R, 3)
    switch (mr * 4 + nt) {
        MCR(1) MCR(2) MCR(3) MCR(4) MCR(5) MCR(6) MCR(7) MCR(8)
    default: break;
    }
#undef MCR
#undef MC
}

void fl_mm_avx512_gemm_f32(const fl_mm_job *job, int64_t r0, int64_t r1, void *scratch) {
    const fl_weight *w = job->w;
    const int64_t k = w->k, rows = r1 - r0, n = job->a->n, ntiles = (n + COLS - 1) / COLS;
    float *cb = (float *)scratch;
    float *conv = (float *)((uint8_t *)scratch + f32_cbuf_bytes(n));
    const uint8_t *packed = job->a->packed;
    const uint64_t tb = tile_bytes(w->type, k);
    for (int64_t g0 = 0; g0 < k; g0 += FKC) {
        const int64_t kc = k - g0 < FKC ? k - g0 : FKC;
        /* the panel's k-block as f32: bf16 << 16 is exact */
        for (int64_t r = 0; r < rows; r++) {
            const uint8_t *src = (const uint8_t *)w->data + (uint64_t)(r0 + r) * w->row_bytes;
            float *dst = conv + r * WLD;
            for (int64_t i = 0; i < kc; i += 16) {
                const int64_t e = g0 + i;
                __mmask16 m = kc - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (kc - i)) - 1);
                __m512 v;
                if (w->type == FLINT_TYPE_F32) v = _mm512_maskz_loadu_ps(m, src + 4 * e);
                else {
                    __m256i h = _mm256_maskz_loadu_epi16(m, src + 2 * e);
                    v = w->type == FLINT_TYPE_F16 ? _mm512_cvtph_ps(h)
                                                  : _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
                }
                _mm512_mask_storeu_ps(dst + i, m, v);
            }
        }
        for (int64_t t = 0; t < ntiles; t += FNT) {
            const int nt = ntiles - t < FNT ? (int)(ntiles - t) : FNT;
            const float *x0 = (const float *)(const void *)(packed + (uint64_t)t * tb) + COLS * g0;
            float *cg = cb + (t / FNT) * FL_MM_PANEL_ROWS * CB_LD;
            /* the first micro-row pulls the next x block into L1 */
            const float *pf = t + FNT < ntiles ? x0 + FNT * tb / 4
                              : g0 + FKC < k   ? (const float *)(const void *)packed + COLS * (g0 + FKC)
                                               : NULL;
            for (int64_t rp = 0; rp < rows; rp += MR) {
                const int mr = rows - rp < MR ? (int)(rows - rp) : MR;
                micro_f32_any(conv + rp * WLD, x0, rp == 0 ? pf : NULL, tb / 4, cg + rp * CB_LD, kc, g0 == 0, mr, nt);
            }
        }
    }
    /* y[c][r0 + r], transposed */
    for (int64_t c = 0; c < n; c++) {
        const float *cc = cb + (c / (FNT * COLS)) * FL_MM_PANEL_ROWS * CB_LD + c % (FNT * COLS);
        float *yc = job->y + c * job->ldy + r0;
        for (int64_t r = 0; r < rows; r++) yc[r] = cc[r * CB_LD];
    }
}

#endif
