/* matmul_gemm_avx512.c — AVX-512 prefill GEMM micro-kernels (n > 8):
 *   int8  the Q8_32 types (Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL MXFP4 MLX 4/8)
 *         and the K-quants Q4_K Q5_K Q6_K (Q8_K activations) with
 *         vpdpbusd;
 *   f32   F32 weights, and F16/BF16 where the CPU lacks AVX512-FP16: each
 *         k-block of a panel converted to f32 once, FMA on f32 activations;
 *   h16   F16 and BF16 weights on CPUs with AVX512-FP16 (Sapphire Rapids
 *         on): vfmadd231ph does 32 multiply-adds per instruction at the
 *         rate of the f32 FMA, twice its work. See the h16 section for the
 *         scaling that rules out fp16 overflow and for the accuracy.
 *         vdpbf16ps runs at a quarter of the FMA instruction rate on these
 *         Xeons (bench_matmul prints the peaks), so it is not used.
 *
 * Layout: the activations are packed once per call in column tiles of
 * rows of x (16 for int8 and f32, 32 for h16; int8 codes biased by +128),
 * k-interleaved so that one zmm holds the same 4 (int8), 1 (f32) or 1
 * (fp16) consecutive elements of every row of the tile; a weight row
 * contributes a 32-bit broadcast. A micro-tile is MR = 8 weight rows x one
 * (int8) or up to FNT (floats) column tiles with the accumulators in
 * registers, so each x load feeds 8 dot instructions.
 * Per task (a panel of up to FL_MM_PANEL_ROWS weight rows) the int8 path
 * first unpacks the panel into signed codes plus per-sub-block scale, min
 * and the -128 * sum(codes) term (the activations are biased by +128 for
 * the unsigned operand of vpdpbusd), which stays in L2 while every column
 * tile passes over it. Sub-blocks are the weight type's scale groups (32
 * elements; 16 for Q6_K); see the int8 section for the arithmetic. y is
 * written once per micro-tile (int8) or per panel (floats), transposed. */
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <stdlib.h>
#include <immintrin.h>

#include "cpu/matmul_avx512.h"

#define INLINE static inline __attribute__((always_inline))
/* loops over the activation rows / weight rows of a micro-tile: unrolled
 * so that the accumulator arrays live in registers */
#define UNROLL _Pragma("GCC unroll 8")
#define UNROLL16 _Pragma("GCC unroll 16") /* the 16 rows of a transpose */
#define COLS 16 /* int8 and f32 column tile */
#define HCOLS 32 /* h16 column tile */
#define MR 8

/* float blocking (see the float section) */
#define FNT 3
#define FKC 64
#define WLD (FKC + 16) /* 32-bit words per converted weight row */

static bool is_float(flint_type t) { return t == FLINT_TYPE_F32 || t == FLINT_TYPE_F16 || t == FLINT_TYPE_BF16; }

/* int8: elements per weight sub-block (one scale and min) and per
 * activation scale (Q8_32: 32, Q8_K: 256) */
static int64_t sub_elems(flint_type t) { return t == FLINT_TYPE_Q6_K ? 16 : 32; }
static int64_t act_elems(flint_type t) { return fl_mm_act_for(t) == FL_MM_ACT_Q8_K ? 256 : 32; }

/* AVX512-FP16: cpuid leaf 7, edx bit 23 (the ZMM state is checked by the
 * backend before this table is chosen) */
static bool have_fp16(void) {
    static int ok = -1; /* benign: every thread computes the same value */
    int v = __atomic_load_n(&ok, __ATOMIC_RELAXED);
    if (v < 0) {
        unsigned a, b, c, d;
        v = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (d >> 23 & 1);
        __atomic_store_n(&ok, v, __ATOMIC_RELAXED);
    }
    return v;
}

/* The fp16 GEMM is opt-in (FLINT_FP16_GEMM=1, read per call so tests can
 * run both paths): it is 1.5-1.7x faster, but its error (6e-3 of the logit
 * range on the Gemma 3 fixture, up to 0.3 on the random Qwen3.5 hybrids,
 * which amplify rounding) is too large for the default. */
static bool use_h16(flint_type t) {
    const char *env = getenv("FLINT_FP16_GEMM");
    return (t == FLINT_TYPE_F16 || t == FLINT_TYPE_BF16) && env && env[0] == '1' && have_fp16();
}

/* ---- activation packing ---- */

static int64_t tile_cols(flint_type type) { return use_h16(type) ? HCOLS : COLS; }

static uint64_t tile_bytes(flint_type type, int64_t k) {
    /* floats: 64 bytes per k (16 f32 or 32 fp16); h16 adds one f32 scale per
     * row of the tile and k-block */
    if (use_h16(type)) return (uint64_t)k * 64 + (uint64_t)((k + FKC - 1) / FKC) * HCOLS * 4;
    if (is_float(type)) return (uint64_t)k * 64;
    /* codes, dx per activation scale, code sums per weight sub-block */
    return (uint64_t)k * COLS + (uint64_t)(k / act_elems(type) + k / sub_elems(type)) * COLS * 4;
}

uint64_t fl_mm_avx512_pack_bytes(flint_type type, int64_t n, int64_t k) {
    const int64_t tc = tile_cols(type);
    return (uint64_t)((n + tc - 1) / tc) * tile_bytes(type, k);
}


/* x[c0 + j][k0 .. k0 + 15] for j < 16 (rows past n and elements past k
 * read as 0), transposed: v[i] holds element k0 + i of the 16 rows */
INLINE void load_x16x16(const fl_mm_act *a, int64_t c0, int64_t k0, __m512 v[16]) {
    const __mmask16 m = fl_mm_avx512_mask16(a->k - k0);
    UNROLL16 for (int j = 0; j < 16; j++)
        v[j] = c0 + j < a->n ? _mm512_maskz_loadu_ps(m, a->f32 + (c0 + j) * a->k + k0) : _mm512_setzero_ps();
    fl_mm_avx512_transpose16(v);
}

/* Power-of-two scales per lane: s * amax < 2^top (amax = 0: s = 2^126;
 * inf or NaN: s = 1), and 1 / s; both exact, normal floats. */
INLINE __m512 pow2_scale(__m512 amax, int top, __m512 *inv) {
    const __m512i e = _mm512_srli_epi32(_mm512_castps_si512(amax), 23); /* amax >= 0: the biased exponent */
    __m512i sb = _mm512_sub_epi32(_mm512_set1_epi32(top + 253), e);
    sb = _mm512_min_epi32(_mm512_max_epi32(sb, _mm512_set1_epi32(1)), _mm512_set1_epi32(253));
    sb = _mm512_mask_mov_epi32(sb, _mm512_cmpeq_epi32_mask(e, _mm512_set1_epi32(255)), _mm512_set1_epi32(127));
    *inv = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_sub_epi32(_mm512_set1_epi32(254), sb), 23));
    return _mm512_castsi512_ps(_mm512_slli_epi32(sb, 23));
}

#define XTOP 5 /* h16: |x * s| < 2^5, |w * t| < 2^4, so a k-block of 64 products sums below 2^15 */
#define WTOP 4

static void pack_f32_tile(const fl_mm_act *a, float *tile, int64_t t0) {
    for (int64_t k0 = 0; k0 < a->k; k0 += 16) {
        __m512 v[16];
        load_x16x16(a, t0, k0, v);
        const int64_t ni = a->k - k0 < 16 ? a->k - k0 : 16;
        for (int64_t i = 0; i < ni; i++) _mm512_store_ps(tile + (k0 + i) * COLS, v[i]);
    }
}

/* per 16-row half of the tile and k-block: x * s rounded to fp16 (s a
 * power of two per row, XTOP), 1 / s kept after the codes */
static void pack_h16_tile(const fl_mm_act *a, uint8_t *tile, int64_t t0) {
    const int64_t k = a->k;
    float *inv_s = (float *)(tile + (uint64_t)k * 64);
    for (int h = 0; h < 2; h++) {
        for (int64_t g0 = 0; g0 < k; g0 += FKC) {
            const int64_t kc = k - g0 < FKC ? k - g0 : FKC;
            __m512 v[FKC];
            __m512 amax = _mm512_setzero_ps();
            for (int64_t i0 = 0; i0 < kc; i0 += 16) {
                load_x16x16(a, t0 + 16 * h, g0 + i0, v + i0);
                UNROLL16 for (int i = 0; i < 16; i++) amax = _mm512_max_ps(amax, _mm512_abs_ps(v[i0 + i]));
            }
            __m512 inv;
            const __m512 sc = pow2_scale(amax, XTOP, &inv);
            _mm512_store_ps(inv_s + (g0 / FKC) * HCOLS + 16 * h, inv);
            for (int64_t i = 0; i < kc; i++)
                _mm256_store_si256((__m256i *)(tile + (g0 + i) * 64 + 32 * h),
                                   _mm512_cvtps_ph(_mm512_mul_ps(v[i], sc), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        }
    }
}

/* codes biased by +128 (the unsigned operand of vpdpbusd), 4 per row and
 * k-group of 4 (16 x 16 transposes of 32-bit words; rows past n are 0);
 * then dx per activation scale and the sums of the codes per weight
 * sub-block (as floats, exact), 16 rows each */
static void pack_int8_tile(flint_type type, const fl_mm_act *a, uint8_t *tile, int64_t t0) {
    const int64_t k = a->k, nw = k / 4, na = k / act_elems(type), ns = k / sub_elems(type);
    const int64_t sg = a->kind == FL_MM_ACT_Q8_K ? 16 : 32; /* elements per act sum */
    const int64_t per = sub_elems(type) / sg;                /* act sums per sub-block */
    const __m512i bias = _mm512_set1_epi8((char)0x80);
    for (int64_t g0 = 0; g0 < nw; g0 += 16) {
        __m512 v[16];
        UNROLL16 for (int l = 0; l < COLS; l++) {
            const bool live = t0 + l < a->n;
            const __mmask16 m = live ? fl_mm_avx512_mask16(nw - g0) : 0;
            const __m512i x = _mm512_maskz_loadu_epi32(m, a->q + (live ? t0 + l : 0) * k + 4 * g0);
            v[l] = _mm512_castsi512_ps(_mm512_maskz_xor_epi32(m, x, bias));
        }
        fl_mm_avx512_transpose16(v);
        for (int64_t g = 0; g < 16 && g0 + g < nw; g++) _mm512_store_ps(tile + 64 * (g0 + g), v[g]);
    }
    float *dx = (float *)(tile + (uint64_t)k * COLS), *xs = dx + na * COLS;
    for (int l = 0; l < COLS; l++) {
        const int64_t c = t0 + l;
        const bool live = c < a->n;
        for (int64_t b = 0; b < na; b++) dx[b * COLS + l] = live ? a->d[c * na + b] : 0.0f;
        for (int64_t j = 0; j < ns; j++) {
            int32_t sum = 0;
            for (int64_t t = 0; live && t < per; t++) sum += a->sum[c * (k / sg) + j * per + t];
            xs[j * COLS + l] = (float)sum;
        }
    }
}

void fl_mm_avx512_pack_act(flint_type type, const fl_mm_act *a, void *packed, int64_t c0, int64_t c1) {
    const int64_t k = a->k, tc = tile_cols(type);
    for (int64_t t0 = c0; t0 < c1; t0 += tc) {
        uint8_t *tile = (uint8_t *)packed + (uint64_t)(t0 / tc) * tile_bytes(type, k);
        if (use_h16(type)) {
            pack_h16_tile(a, tile, t0);
            continue;
        }
        if (is_float(type)) {
            pack_f32_tile(a, (float *)tile, t0);
            continue;
        }
        pack_int8_tile(type, a, tile, t0);
    }
}

/* partial sums of a panel: per group of FNT column tiles, panel rows x
 * the group's columns */
static uint64_t cbuf_bytes(flint_type type, int64_t n) {
    const int64_t gc = FNT * tile_cols(type);
    return (uint64_t)((n + gc - 1) / gc) * FL_MM_PANEL_ROWS * (uint64_t)gc * 4;
}

uint64_t fl_mm_avx512_gemm_scratch_bytes(flint_type type, int64_t n, int64_t k) {
    if (is_float(type)) return cbuf_bytes(type, n) + (uint64_t)FL_MM_PANEL_ROWS * WLD * 4 + MR * FNT * 64;
    return (uint64_t)FL_MM_PANEL_ROWS * ((uint64_t)k + (uint64_t)(k / sub_elems(type)) * 12); /* panel_at */
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

/* ---- int8 ----
 * Per weight sub-block j (sb = 32 or 16 elements) and micro-tile row, the
 * integer dot of its codes with the tile's 16 biased activation rows,
 * started from -128 * sum(codes) so that it is exact, goes to float once:
 *   blk += float(dot_j) * scale_j  [ + sum_j(x) * min_j ]
 * and every activation scale (ns sub-blocks: 1 for Q8_32, 8 or 16 for
 * Q8_K) adds acc += blk * dx. Q4_K and Q5_K take their 6-bit scales and
 * mins per 32, Q6_K its int8 scales per 16 with the -32 in the codes. */

/* The unpacked panel, interleaved per micro-row (MR weight rows) so that
 * a micro-tile reads each array through one pointer: */
typedef struct panel {
    int8_t *codes;   /* [k / 4][MR][4] signed codes */
    float *ws, *wm;  /* [k / sb][MR] scale, min */
    int32_t *corr;   /* [k / sb][MR] -128 * sum of the sub-block's codes */
} panel;

/* The panel's micro-row q (rows [MR q, MR q + MR)) in scratch (its bytes:
 * fl_mm_avx512_gemm_scratch_bytes). */
static panel panel_at(void *scratch, int64_t k, int64_t sb, int64_t q) {
    const int64_t nsub = k / sb;
    int8_t *codes = scratch;
    float *ws = (float *)(codes + FL_MM_PANEL_ROWS * k);
    float *wm = ws + FL_MM_PANEL_ROWS * nsub;
    int32_t *corr = (int32_t *)(wm + FL_MM_PANEL_ROWS * nsub);
    return (panel){codes + q * MR * k, ws + q * MR * nsub, wm + q * MR * nsub, corr + q * MR * nsub};
}

INLINE void micro_int8(const fl_mm_job *job, const panel *pn, const uint8_t *tile, int64_t k, int64_t t0, int64_t r,
                       const int mr, const int sb, const int ns, const bool mins) {
    const int64_t nsub = k / sb, na = nsub / ns;
    const float *dx = (const float *)(tile + (uint64_t)k * COLS), *xs = dx + na * COLS;
    __m512 acc[MR];
    UNROLL for (int i = 0; i < mr; i++) acc[i] = _mm512_setzero_ps();
    for (int64_t u = 0; u < na; u++) {
        __m512 blk[MR];
        UNROLL for (int i = 0; i < mr; i++) blk[i] = _mm512_setzero_ps();
        for (int s = 0; s < ns; s++) {
            const int64_t j = u * ns + s;
            __m512i ai[MR];
            UNROLL for (int i = 0; i < mr; i++) ai[i] = _mm512_set1_epi32(pn->corr[j * MR + i]);
            const uint8_t *xt = tile + (uint64_t)j * sb * COLS;
            const int8_t *wc = pn->codes + j * sb * MR;
            UNROLL for (int g = 0; g < sb / 4; g++) {
                __m512i xv = _mm512_load_si512(xt + 64 * g);
                UNROLL for (int i = 0; i < mr; i++) ai[i] = _mm512_dpbusd_epi32(ai[i], xv, bcast32(wc + 4 * (g * MR + i)));
            }
            UNROLL for (int i = 0; i < mr; i++)
                blk[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ai[i]), _mm512_set1_ps(pn->ws[j * MR + i]), blk[i]);
            if (mins) {
                __m512 sv = _mm512_load_ps(xs + j * COLS);
                UNROLL for (int i = 0; i < mr; i++) blk[i] = _mm512_fmadd_ps(sv, _mm512_set1_ps(pn->wm[j * MR + i]), blk[i]);
            }
        }
        __m512 dxv = _mm512_load_ps(dx + u * COLS);
        UNROLL for (int i = 0; i < mr; i++) acc[i] = _mm512_fmadd_ps(blk[i], dxv, acc[i]);
    }
    store_tile(job, acc, mr, t0, r);
}

/* Elements [e0, e0 + ne) (ne <= 256: one super-block, or up to 8 blocks
 * of 32) of weight rows [r, r + nr), nr <= MR, into micro-row pn. The rows
 * are unpacked in element order into tmp, then 16 x 16 transposes put
 * each 4 codes of the MR rows side by side; the sums of the codes come
 * from the transposed words (vpdpbusd with ones). tmp: zeroed once per
 * panel; rows past nr keep what they held (never read back). Returns
 * whether any min is nonzero. */
typedef struct unit_tmp {
    int8_t codes[16][256] __attribute__((aligned(64))); /* rows MR.. stay 0 */
    float ws[16][16] __attribute__((aligned(64)));      /* [row][sub-block] */
    float wm[16][16] __attribute__((aligned(64)));
} unit_tmp;

static bool unpack_unit(const fl_weight *w, int64_t r, int nr, int64_t e0, int64_t ne, const panel *pn, unit_tmp *tmp) {
    const int64_t sb = sub_elems(w->type), ns = ne / sb, j0 = e0 / sb, nw = ne / 4;
    bool mins = false;
    for (int i = 0; i < nr; i++) {
        if (ne == 256 && act_elems(w->type) == 256) {
            fl_mm_avx512_block256(w, r + i, e0 / 256, tmp->codes[i], tmp->ws[i], tmp->wm[i]);
        } else {
            fl_mm_avx512_blocks32(w, r + i, e0 / 32, ne / 32, tmp->codes[i], tmp->ws[i], tmp->wm[i]);
        }
        for (int64_t t = 0; t < ns; t++) mins |= tmp->wm[i][t] != 0.0f;
    }
    const __m512i ones = _mm512_set1_epi8(1);
    __m512i sum = _mm512_setzero_si512();
    const int64_t words = sb / 4; /* per sub-block */
    int64_t j = j0, left = words; /* a countdown, not g % words: a division per word cost 15% of a MoE prefill */
    for (int64_t g0 = 0; g0 < nw; g0 += 16) {
        __m512 v[16];
        UNROLL16 for (int i = 0; i < 16; i++) v[i] = _mm512_maskz_loadu_ps(fl_mm_avx512_mask16(nw - g0), tmp->codes[i] + 4 * g0);
        fl_mm_avx512_transpose16(v);
        for (int64_t g = 0; g < 16 && g0 + g < nw; g++) {
            const __m512i c = _mm512_castps_si512(v[g]);
            _mm256_storeu_si256((__m256i *)(pn->codes + (e0 / 4 + g0 + g) * MR * 4), _mm512_castsi512_si256(c));
            sum = _mm512_dpbusd_epi32(sum, ones, c);
            if (--left == 0) { /* the end of a sub-block */
                const __m512i corr = _mm512_mullo_epi32(sum, _mm512_set1_epi32(-128));
                _mm256_storeu_si256((__m256i *)(pn->corr + j++ * MR), _mm512_castsi512_si256(corr));
                sum = _mm512_setzero_si512();
                left = words;
            }
        }
    }
    float *const dst[2] = {pn->ws, pn->wm};
    for (int a = 0; a < 2; a++) {
        __m512 v[16];
        UNROLL16 for (int i = 0; i < 16; i++) v[i] = _mm512_load_ps(a ? tmp->wm[i] : tmp->ws[i]);
        fl_mm_avx512_transpose16(v);
        for (int64_t t = 0; t < ns; t++) _mm256_storeu_ps(dst[a] + (j0 + t) * MR, _mm512_castps512_ps256(v[t]));
    }
    return mins;
}

/* Q4_0 and Q8_0, a full micro-row: every block of the MR rows from r
 * straight into the panel. A block of the MR rows is an MR x 8
 * matrix of 4-code words; the panel wants it transposed ([word][row]),
 * which dword permutes do in registers: for Q8_0 two levels of 4
 * (rows {0,1} {2,3} {4,5} {6,7} -> rows 0-3 / 4-7 x words 0-3 / 4-7 ->
 * [word][row]); for Q4_0 one level of 2 on the 16 packed bytes per row,
 * whose low nibbles are words 0-3 and high nibbles words 4-7. Four times
 * less work than the general path (per-row decode, 16 x 16 transposes of
 * half-empty rows), which matters where a panel serves one column tile:
 * the experts of a MoE prefill. */
static void unpack_rows8(const fl_weight *w, int64_t r, const panel *pn) {
    const bool q4 = w->type == FLINT_TYPE_Q4_0;
    const uint64_t bb = q4 ? 18 : 34; /* block bytes */
    const uint8_t *row[MR];
    for (int i = 0; i < MR; i++) row[i] = (const uint8_t *)w->data + (uint64_t)(r + i) * w->row_bytes;
    /* [word][row] (lane 8 g + i) from two [row][word] halves of 4 rows x 4
     * words (lane 4 i + g): words 0-1, words 2-3 */
    __m512i lo_words, hi_words; /* words 0-1 / 2-3 (of a 4-word half) */
    {
        int32_t a[16], b[16];
        for (int l = 0; l < 16; l++) {
            const int g = l / 8, i = l % 8;
            a[l] = i < 4 ? 4 * i + g : 16 + 4 * (i - 4) + g;
            b[l] = a[l] + 2;
        }
        lo_words = _mm512_loadu_si512(a), hi_words = _mm512_loadu_si512(b);
    }
    /* Q8_0's first level: [row][word] halves (lane 4 i + g) from rows
     * {0,1} and {2,3} (lane 8 i + g of one zmm each) */
    __m512i first_lo, first_hi;
    {
        int32_t a[16], b[16];
        for (int l = 0; l < 16; l++) {
            const int i = l / 4, g = l % 4;
            a[l] = (i < 2 ? 8 * i : 16 + 8 * (i - 2)) + g;
            b[l] = a[l] + 4;
        }
        first_lo = _mm512_loadu_si512(a), first_hi = _mm512_loadu_si512(b);
    }
    const __m512i ones = _mm512_set1_epi8(1), lo4 = _mm512_set1_epi8(0x0f), eight = _mm512_set1_epi8(8);
    for (int64_t b = 0; b < w->k / 32; b++) {
        __m512i c[4]; /* words {0,1} {2,3} {4,5} {6,7} x 8 rows */
        if (q4) {
            __m512i h[2];
            for (int q = 0; q < 2; q++) {
                const uint8_t *const *rq = row + 4 * q;
                h[q] = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(rq[0] + bb * b + 2)));
                h[q] = _mm512_inserti32x4(h[q], _mm_loadu_si128((const __m128i *)(rq[1] + bb * b + 2)), 1);
                h[q] = _mm512_inserti32x4(h[q], _mm_loadu_si128((const __m128i *)(rq[2] + bb * b + 2)), 2);
                h[q] = _mm512_inserti32x4(h[q], _mm_loadu_si128((const __m128i *)(rq[3] + bb * b + 2)), 3);
            }
            const __m512i t0 = _mm512_permutex2var_epi32(h[0], lo_words, h[1]);
            const __m512i t1 = _mm512_permutex2var_epi32(h[0], hi_words, h[1]);
            c[0] = _mm512_sub_epi8(_mm512_and_si512(t0, lo4), eight);
            c[1] = _mm512_sub_epi8(_mm512_and_si512(t1, lo4), eight);
            c[2] = _mm512_sub_epi8(_mm512_and_si512(_mm512_srli_epi16(t0, 4), lo4), eight);
            c[3] = _mm512_sub_epi8(_mm512_and_si512(_mm512_srli_epi16(t1, 4), lo4), eight);
        } else {
            __m512i z[4], t[4];
            for (int q = 0; q < 4; q++)
                z[q] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(row[2 * q] + bb * b + 2))),
                                          _mm256_loadu_si256((const __m256i *)(row[2 * q + 1] + bb * b + 2)), 1);
            t[0] = _mm512_permutex2var_epi32(z[0], first_lo, z[1]); /* rows 0-3, words 0-3 */
            t[1] = _mm512_permutex2var_epi32(z[0], first_hi, z[1]); /* rows 0-3, words 4-7 */
            t[2] = _mm512_permutex2var_epi32(z[2], first_lo, z[3]);
            t[3] = _mm512_permutex2var_epi32(z[2], first_hi, z[3]);
            c[0] = _mm512_permutex2var_epi32(t[0], lo_words, t[2]);
            c[1] = _mm512_permutex2var_epi32(t[0], hi_words, t[2]);
            c[2] = _mm512_permutex2var_epi32(t[1], lo_words, t[3]);
            c[3] = _mm512_permutex2var_epi32(t[1], hi_words, t[3]);
        }
        __m512i sum = _mm512_setzero_si512();
        for (int q = 0; q < 4; q++) {
            _mm512_storeu_si512(pn->codes + (b * 8 + 2 * q) * MR * 4, c[q]);
            sum = _mm512_dpbusd_epi32(sum, ones, c[q]);
        }
        const __m256i rows_sum = _mm256_add_epi32(_mm512_castsi512_si256(sum), _mm512_extracti64x4_epi64(sum, 1));
        _mm256_storeu_si256((__m256i *)(pn->corr + b * MR), _mm256_mullo_epi32(rows_sum, _mm256_set1_epi32(-128)));
        for (int i = 0; i < MR; i++) {
            pn->ws[b * MR + i] = _cvtsh_ss(fl_mm_u16(row[i] + bb * b));
            pn->wm[b * MR + i] = 0.0f;
        }
    }
}

/* Unpacks weight rows [r0, r0 + rows) into the panel; returns whether any
 * min is nonzero. */
static bool unpack_panel(const fl_weight *w, int64_t r0, int64_t rows, void *scratch) {
    const int64_t k = w->k, sb = sub_elems(w->type);
    unit_tmp tmp;
    memset(&tmp, 0, sizeof tmp);
    bool mins = false;
    for (int64_t q = 0; q * MR < rows; q++) {
        const panel pn = panel_at(scratch, k, sb, q);
        const int nr = rows - q * MR < MR ? (int)(rows - q * MR) : MR;
        if (nr == MR && (w->type == FLINT_TYPE_Q4_0 || w->type == FLINT_TYPE_Q8_0)) {
            unpack_rows8(w, r0 + q * MR, &pn);
            continue;
        }
        for (int64_t e0 = 0; e0 < k; e0 += 256)
            mins |= unpack_unit(w, r0 + q * MR, nr, e0, k - e0 < 256 ? k - e0 : 256, &pn, &tmp);
    }
    return mins;
}

void fl_mm_avx512_gemm_int8(const fl_mm_job *job, int64_t r0, int64_t r1, void *scratch) {
    const fl_weight *w = job->w;
    const bool kq = fl_mm_act_for(w->type) == FL_MM_ACT_Q8_K;
    const int64_t k = w->k, sb = sub_elems(w->type), rows = r1 - r0;
    const bool mins = unpack_panel(w, r0, rows, scratch);
    const uint8_t *packed = job->a->packed;
    const uint64_t tb = tile_bytes(w->type, k);
    for (int64_t t0 = 0; t0 < job->a->n; t0 += COLS) {
        const uint8_t *tile = packed + (uint64_t)(t0 / COLS) * tb;
        for (int64_t rp = 0; rp < rows; rp += MR) {
            const int mr = rows - rp < MR ? (int)(rows - rp) : MR;
            const panel pn = panel_at(scratch, k, sb, rp / MR);
            /* (sb, ns, mins): Q8_32 types with and without mins, Q4_K / Q5_K, Q6_K */
#define CALL(N)                                                                        \
    if (!kq) {                                                                         \
        if (mins) micro_int8(job, &pn, tile, k, t0, r0 + rp, N, 32, 1, true);          \
        else micro_int8(job, &pn, tile, k, t0, r0 + rp, N, 32, 1, false);              \
    } else if (sb == 32) micro_int8(job, &pn, tile, k, t0, r0 + rp, N, 32, 8, true);   \
    else micro_int8(job, &pn, tile, k, t0, r0 + rp, N, 16, 16, false);
            FL_MM_DISPATCH8(mr, CALL)
#undef CALL
        }
    }
}

/* ---- floats ----
 * Micro-tile: MR weight rows x nt <= FNT column tiles, MR * FNT = 24
 * accumulators in zmm, so per k step FNT x loads and MR broadcasts feed
 * 24 FMAs. k is blocked by FKC: per k-block the panel's weights are
 * converted to 32-bit words per element (f32, or for h16 an fp16 code
 * twice), rows WLD words apart (so that the MR rows fall in different L1
 * sets), while the next block's weights are prefetched; then every column
 * group's x block (FNT * FKC * 64 bytes, L1) passes over the panel's
 * micro-rows. The partial sums stay in cbuf (panel rows x the columns,
 * L2) between k-blocks and are written to y, transposed, once. Each f32
 * output keeps one accumulation chain in k order. */
INLINE void micro_f32(const float *w, const float *x0, const float *pf, uint64_t tstride, float *cb, int64_t kc,
                      bool first, const int mr, const int nt) {
    __m512 acc[MR][FNT];
    if (first) {
        UNROLL for (int i = 0; i < mr; i++) UNROLL for (int j = 0; j < nt; j++) acc[i][j] = _mm512_setzero_ps();
    }
    else {
        UNROLL for (int i = 0; i < mr; i++) UNROLL for (int j = 0; j < nt; j++) acc[i][j] = _mm512_loadu_ps(cb + i * FNT * COLS + j * COLS);
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
    UNROLL for (int i = 0; i < mr; i++) UNROLL for (int j = 0; j < nt; j++) _mm512_storeu_ps(cb + i * FNT * COLS + j * COLS, acc[i][j]);
}

/* ---- h16 ----
 * vfmadd231ph has no f32 accumulation: each half k-block of HCHUNK = 32
 * steps runs in fp16 accumulators from zero, the two halves are added in
 * fp16 (the first parked in scratch meanwhile), and the sum is added,
 * scaled back, to the f32 partial sums, so one conversion serves 64 steps.
 * No fp16 value can overflow: the activations are scaled per row and
 * k-block (pack_h16_tile) and the weights per panel and k-block by powers
 * of two so that |x s| < 2^XTOP and |w t| < 2^WTOP, so a k-block's 64
 * products sum below 2^15 < 65504; values 2^-18 below the block's largest
 * become fp16 subnormals (absolute error < 2^-25 there).
 * Accuracy: x s rounded to fp16 (relative 2^-11; BF16 and F16 weights are
 * exact) and up to 33 fp16 roundings of a growing partial sum per
 * k-block: |error| <= 2^-11 (sum |w x| + sum over steps of |partial sum|)
 * to first order (test_cpu_matmul checks exactly that). In practice about
 * 2^-11 sqrt(32) of a block's scale: on the Gemma 3 fixture (test_gemma3)
 * 7e-3 of the logits' range, against 1.3e-2 for x rounded to bf16 as
 * llama.cpp does for BF16 weights; chunks of 64 without the split gave
 * 1.01e-2. The scalar, AVX2 and decode (n <= 8) paths stay exact f32. */
#define HCHUNK 32

/* inline asm: the compilers of this project (clang 14) lack the
 * AVX512-FP16 intrinsics; reached only after have_fp16() */
INLINE __m512i fmadd_ph(__m512i acc, __m512i a, __m512i b) {
    __asm__("vfmadd231ph %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
    return acc;
}
INLINE __m512i add_ph(__m512i a, __m512i b) {
    __asm__("vaddph %1, %0, %0" : "+v"(a) : "v"(b));
    return a;
}

/* xs: 1 / s of tile j's 32 rows at xs + j * tstride / 2 (floats); wi: 1 / t;
 * park: MR * FNT zmm of scratch for the first half's sums */
INLINE void micro_h16(const uint32_t *w, const uint16_t *x0, const uint16_t *pf, uint64_t tstride, float *cb,
                      const float *xs, float wi, __m512i *park, int64_t kc, bool first, const int mr, const int nt) {
    __m512i acc[MR][FNT];
    UNROLL for (int i = 0; i < mr; i++) UNROLL for (int j = 0; j < nt; j++) acc[i][j] = _mm512_setzero_si512();
    /* one loop (two would double the code and make the compiler spill
     * accumulators in both) */
    for (int64_t g = 0; g < kc; g++) {
        if (g == HCHUNK) {
            UNROLL for (int i = 0; i < mr; i++) UNROLL for (int j = 0; j < nt; j++) {
                _mm512_store_si512(park + i * FNT + j, acc[i][j]);
                acc[i][j] = _mm512_setzero_si512();
            }
        }
        __m512i xv[FNT];
        UNROLL for (int j = 0; j < nt; j++) xv[j] = _mm512_load_si512(x0 + j * tstride + HCOLS * g);
        if (pf) UNROLL for (int j = 0; j < FNT; j++) _mm_prefetch((const char *)(pf + j * tstride + HCOLS * g), _MM_HINT_T0);
        UNROLL for (int i = 0; i < mr; i++) {
            const __m512i b = _mm512_set1_epi32((int)w[i * WLD + g]);
            UNROLL for (int j = 0; j < nt; j++) acc[i][j] = fmadd_ph(acc[i][j], xv[j], b);
        }
    }
    if (kc > HCHUNK)
        UNROLL for (int i = 0; i < mr; i++) UNROLL for (int j = 0; j < nt; j++)
            acc[i][j] = add_ph(acc[i][j], _mm512_load_si512(park + i * FNT + j));
    __m512 sc[FNT][2];
    UNROLL for (int j = 0; j < nt; j++) UNROLL for (int h = 0; h < 2; h++)
        sc[j][h] = _mm512_mul_ps(_mm512_load_ps(xs + j * tstride / 2 + 16 * h), _mm512_set1_ps(wi));
    UNROLL for (int i = 0; i < mr; i++) UNROLL for (int j = 0; j < nt; j++) {
        const __m512 v[2] = {_mm512_cvtph_ps(_mm512_castsi512_si256(acc[i][j])),
                             _mm512_cvtph_ps(_mm512_extracti64x4_epi64(acc[i][j], 1))};
        UNROLL for (int h = 0; h < 2; h++) {
            float *p = cb + i * FNT * HCOLS + j * HCOLS + 16 * h;
            _mm512_storeu_ps(p, first ? _mm512_mul_ps(v[h], sc[j][h]) : _mm512_fmadd_ps(v[h], sc[j][h], _mm512_loadu_ps(p)));
        }
    }
}

/* instantiations for every (mr, nt), with and without prefetch */
#define MICRO_CASES(CALL)                                      \
    switch (mr * 4 + nt) {                                     \
        MICRO_ROW(CALL, 1) MICRO_ROW(CALL, 2) MICRO_ROW(CALL, 3) MICRO_ROW(CALL, 4) \
        MICRO_ROW(CALL, 5) MICRO_ROW(CALL, 6) MICRO_ROW(CALL, 7) MICRO_ROW(CALL, 8) \
    default: break;                                            \
    }
#define MICRO_ROW(CALL, R) MICRO_ONE(CALL, R, 1) MICRO_ONE(CALL, R, 2) MICRO_ONE(CALL, R, 3)
#define MICRO_ONE(CALL, R, T)      \
    case R * 4 + T:                \
        if (pf) CALL(pf, R, T);    \
        else CALL(NULL, R, T);     \
        break;

static void micro_f32_any(const float *w, const float *x0, const float *pf, uint64_t tstride, float *cb, int64_t kc,
                          bool first, int mr, int nt) {
#define CALL_F32(PF, R, T) micro_f32(w, x0, PF, tstride, cb, kc, first, R, T)
    MICRO_CASES(CALL_F32)
#undef CALL_F32
}

static void micro_h16_any(const uint32_t *w, const uint16_t *x0, const uint16_t *pf, uint64_t tstride, float *cb,
                          const float *xs, float wi, __m512i *park, int64_t kc, bool first, int mr, int nt) {
#define CALL_H16(PF, R, T) micro_h16(w, x0, PF, tstride, cb, xs, wi, park, kc, first, R, T)
    MICRO_CASES(CALL_H16)
#undef CALL_H16
}

/* Rows [r0, r0 + rows) x [g0, g0 + kc) of W into conv (f32, or for h16
 * fp16 codes of w t doubled into 32-bit words; returns 1 / t). */
INLINE float convert_block(const fl_weight *w, int64_t r0, int64_t rows, int64_t g0, int64_t kc, uint32_t *conv,
                           const bool h16) {
    const int64_t es = w->type == FLINT_TYPE_F32 ? 4 : 2;
    __m512 amax = _mm512_setzero_ps();
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *src = (const uint8_t *)w->data + (uint64_t)(r0 + r) * w->row_bytes + g0 * es;
        for (int64_t i = 0; i < kc; i += 16) {
            const __mmask16 m = fl_mm_avx512_mask16(kc - i);
            const __m512 v = fl_mm_avx512_load_w16(w->type, src + i * es, m);
            if (h16) amax = _mm512_max_ps(amax, _mm512_abs_ps(v));
            _mm512_mask_storeu_ps(conv + r * WLD + i, m, v);
        }
    }
    if (!h16) return 1.0f;
    __m512 inv;
    const __m512 t = pow2_scale(_mm512_set1_ps(_mm512_reduce_max_ps(amax)), WTOP, &inv);
    for (int64_t r = 0; r < rows; r++) {
        uint32_t *row = conv + r * WLD;
        for (int64_t i = 0; i < kc; i += 16) {
            const __mmask16 m = fl_mm_avx512_mask16(kc - i);
            const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, row + i), t);
            const __m512i h = _mm512_cvtepu16_epi32(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
            _mm512_mask_storeu_epi32(row + i, m, _mm512_or_si512(h, _mm512_slli_epi32(h, 16)));
        }
    }
    return _mm512_cvtss_f32(inv);
}

/* y[c][r0 + r] = cb (rows x the group's gc columns per group): 16 x 16
 * transposes into tmp, then each y row's part of the panel in one run of
 * stores (16 runs at a time were measured twice as slow) */
static void write_y(const fl_mm_job *job, const float *cb, int64_t gc, int64_t rows, int64_t r0) {
    const int64_t n = job->a->n;
    float tmp[16][FL_MM_PANEL_ROWS] __attribute__((aligned(64)));
    for (int64_t c0 = 0; c0 < n; c0 += 16) {
        const float *g = cb + (c0 / gc) * FL_MM_PANEL_ROWS * gc + c0 % gc;
        for (int64_t rr = 0; rr < rows; rr += 16) {
            __m512 v[16];
            UNROLL16 for (int j = 0; j < 16; j++) v[j] = rr + j < rows ? _mm512_loadu_ps(g + (rr + j) * gc) : _mm512_setzero_ps();
            fl_mm_avx512_transpose16(v);
            UNROLL16 for (int i = 0; i < 16; i++) _mm512_store_ps(&tmp[i][rr], v[i]);
        }
        const int64_t nc = n - c0 < 16 ? n - c0 : 16;
        for (int64_t i = 0; i < nc; i++) {
            float *yc = job->y + (c0 + i) * job->ldy + r0;
            for (int64_t rr = 0; rr < rows; rr += 16) _mm512_mask_storeu_ps(yc + rr, fl_mm_avx512_mask16(rows - rr), _mm512_load_ps(&tmp[i][rr]));
        }
    }
}

INLINE void gemm_float(const fl_mm_job *job, int64_t r0, int64_t r1, void *scratch, const bool h16) {
    const fl_weight *w = job->w;
    const int64_t k = w->k, rows = r1 - r0, n = job->a->n;
    const int64_t tc = h16 ? HCOLS : COLS, gc = FNT * tc, ntiles = (n + tc - 1) / tc;
    const int64_t es = w->type == FLINT_TYPE_F32 ? 4 : 2;
    float *cb = (float *)scratch;
    uint32_t *conv = (uint32_t *)((uint8_t *)scratch + cbuf_bytes(w->type, n));
    __m512i *park = (__m512i *)(conv + FL_MM_PANEL_ROWS * WLD);
    const uint8_t *packed = job->a->packed;
    const uint64_t tb = tile_bytes(w->type, k);
    for (int64_t g0 = 0; g0 < k; g0 += FKC) {
        const int64_t kc = k - g0 < FKC ? k - g0 : FKC;
        const float wi = convert_block(w, r0, rows, g0, kc, conv, h16);
        /* the next k-block of the panel: 64 rows far apart defeat the
         * hardware prefetcher */
        if (g0 + FKC < k) {
            for (int64_t r = 0; r < rows; r++) {
                const uint8_t *src = (const uint8_t *)w->data + (uint64_t)(r0 + r) * w->row_bytes + (g0 + FKC) * es;
                for (int64_t o = 0; o < FKC * es; o += 64) _mm_prefetch((const char *)src + o, _MM_HINT_T1);
            }
        }
        for (int64_t t = 0; t < ntiles; t += FNT) {
            const int nt = ntiles - t < FNT ? (int)(ntiles - t) : FNT;
            const uint8_t *x0 = packed + (uint64_t)t * tb + 64 * g0;
            float *cg = cb + (t / FNT) * FL_MM_PANEL_ROWS * gc;
            /* the first micro-row pulls the next x block into L1 */
            const uint8_t *pf = t + FNT < ntiles ? x0 + FNT * tb : g0 + FKC < k ? packed + 64 * (g0 + FKC) : NULL;
            const float *xs = h16 ? (const float *)(packed + (uint64_t)t * tb + (uint64_t)k * 64) + (g0 / FKC) * HCOLS : NULL;
            for (int64_t rp = 0; rp < rows; rp += MR) {
                const int mr = rows - rp < MR ? (int)(rows - rp) : MR;
                const bool first = g0 == 0;
                if (h16)
                    micro_h16_any(conv + rp * WLD, (const uint16_t *)x0, rp == 0 ? (const uint16_t *)pf : NULL, tb / 2,
                                  cg + rp * gc, xs, wi, park, kc, first, mr, nt);
                else
                    micro_f32_any((const float *)(conv + rp * WLD), (const float *)x0, rp == 0 ? (const float *)pf : NULL,
                                  tb / 4, cg + rp * gc, kc, first, mr, nt);
            }
        }
    }
    write_y(job, cb, gc, rows, r0);
}

void fl_mm_avx512_gemm_float(const fl_mm_job *job, int64_t r0, int64_t r1, void *scratch) {
    if (use_h16(job->w->type)) gemm_float(job, r0, r1, scratch, true);
    else gemm_float(job, r0, r1, scratch, false);
}

#endif
