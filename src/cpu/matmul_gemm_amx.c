/* matmul_gemm_amx.c — the prefill GEMM (n > 8) of BF16 weights on Intel
 * AMX (AMX-TILE + AMX-BF16: tdpbf16ps), for the "amx" kernel table
 * (matmul_avx512.c: the AVX-512 table with this GEMM for BF16). The other
 * types' packing and scratch forward to the AVX-512 GEMM. Compiled with
 * the AVX-512 and AMX flags; never called unless the backend found AMX
 * usable (cpuid, XCR0 and the Linux permission, backend.c).
 *
 * Precision: tdpbf16ps multiplies bf16 pairs exactly and accumulates in
 * f32, so only the activations (f32) need care. Each is split into bf16
 * parts, largest first: p0 = bf16(x), p1 = bf16(x - p0), p2 = bf16(x - p0
 * - p1), every difference exact in f32. Three parts hold x's 24
 * significant bits exactly (for |x| >= 2^-103; below, the instruction's
 * DAZ/FTZ drops tails under 2^-126), so the result is the f32 path's up
 * to the order of the f32 sums: the default. Each part costs one
 * tdpbf16ps per tile product; FLINT_AMX_PASSES=2 keeps 16 bits (|x - p0 -
 * p1| <= 2^-16 |x|), =1 rounds x to bf16 as llama.cpp does (2^-8).
 * Measured 2026-11-22 (Sapphire Rapids VM, 2 threads, bench_matmul -l:
 * one Gemma-3-1B layer at n = 512): 3 parts 470-700 GOP/s, 2 parts
 * 630-950, 1 part 920-1400, the AVX-512 f32 GEMM 195-210; on the Qwen3.5
 * bf16 fixtures 2 parts raise the logits' error 10-20x (to 1.2e-4 of
 * their range), 3 parts leave it where the f32 path has it (~1e-5);
 * docs/PERF.md.
 *
 * Operands: A (rows of the product) = 16 activation rows x 32 k, packed
 * once per call as rows of bf16 (per k-block one tile per part; zero past
 * n and k); B = 16 weight rows x 32 k in the pair layout tdpbf16ps wants
 * (row i: elements 2i, 2i + 1 of each of the 16 weight rows), repacked per
 * task from W's rows into scratch (zero past the unit and k). So a C tile
 * is y[16 activation rows][16 weight rows], stored straight into y
 * (stride ldy; edge tiles through a 1 KB bounce buffer).
 *
 * Blocking: tmm0-3 hold C for 2 activation tiles x 2 weight tiles, tmm4-5
 * the two activation tiles (one part at a time), tmm6-7 the two weight
 * tiles: per k-block 2 + 2 x parts tile loads feed 4 x parts tdpbf16ps. A
 * unit is up to FL_MM_AMX_ROWS weight rows: every unit reads all of the
 * packed x from L3, so tall units cut that traffic (2 parts, one
 * Gemma-3-1B layer: 64-row units 500-600 GOP/s, 256-row 850-950). Its
 * weights are repacked at most KO k-blocks at a time (256 x 48 x 64 bytes
 * = 768 KiB, L2); then for each pair of activation tiles (their chunk
 * stays in L2) and pair of weight tiles C stays in tiles over the chunk's
 * k, going through y between chunks (exact: f32 stored and reloaded;
 * going through y every 4-16 k-blocks to keep the activation chunk in L1
 * measured slower).
 *
 * Tile state is per thread: each task loads the configuration and
 * releases the tiles at its end. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <stdlib.h>

#include "cpu/matmul_avx512.h"

#define INLINE static inline __attribute__((always_inline))
#define TK 32     /* bf16 per tile row: one k-block */
#define TILE 1024 /* bytes per tile: 16 rows x 64 */
#define KO 48     /* the most k-blocks of a repacked weight chunk */
#define MAX_PARTS 3

/* bf16 parts per activation: FLINT_AMX_PASSES=1 or 2, else 3 (the
 * header); read per call so that tests and benchmarks can run each */
static int parts(void) {
    const char *env = getenv("FLINT_AMX_PASSES");
    return env && (env[0] == '1' || env[0] == '2') && env[1] == 0 ? env[0] - '0' : MAX_PARTS;
}

/* palette 1; every tile 16 rows x 64 bytes */
typedef struct tile_config {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

static const tile_config config = {
    .palette = 1,
    .colsb = {64, 64, 64, 64, 64, 64, 64, 64},
    .rows = {16, 16, 16, 16, 16, 16, 16, 16},
};

static int64_t k_blocks(int64_t k) { return (k + TK - 1) / TK; }
/* the packed bytes of 16 activation rows */
static uint64_t xtile_bytes(int64_t k, int np) { return (uint64_t)k_blocks(k) * (uint64_t)np * TILE; }

uint64_t fl_mm_amx_pack_bytes(flint_type type, int64_t n, int64_t k) {
    if (type != FLINT_TYPE_BF16) return fl_mm_avx512_pack_bytes(type, n, k);
    return (uint64_t)((n + 15) / 16) * xtile_bytes(k, parts());
}

/* k-blocks per weight chunk: the fewest chunks of at most KO, evened */
static int64_t chunk_blocks(int64_t k) {
    const int64_t nkb = k_blocks(k), n_chunks = (nkb + KO - 1) / KO;
    return (nkb + n_chunks - 1) / n_chunks;
}

uint64_t fl_mm_amx_gemm_scratch_bytes(flint_type type, int64_t n, int64_t k) {
    if (type != FLINT_TYPE_BF16) return fl_mm_avx512_gemm_scratch_bytes(type, n, k);
    return (uint64_t)(FL_MM_AMX_ROWS / 16) * (uint64_t)chunk_blocks(k) * TILE + TILE; /* weight chunk, bounce */
}

/* 16 floats as np bf16 parts, largest first: part p = bf16(what the parts
 * before it leave), which is exact in f32 (the header); nothing is left
 * after an infinite part */
INLINE void split(__m512 v, __m256i part[MAX_PARTS], int np) {
    for (int p = 0; p < np; p++) {
        part[p] = (__m256i)_mm512_cvtneps_pbh(v);
        const __m512 back = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(part[p]), 16));
        v = _mm512_maskz_sub_ps((__mmask16)~_mm512_fpclass_ps_mask(back, 0x18), v, back);
    }
}

/* rows [c0, c1) of x (c0 a multiple of 16): per 16-row tile and k-block,
 * one tile per part */
void fl_mm_amx_pack_act(flint_type type, const fl_mm_act *a, void *packed, int64_t c0, int64_t c1) {
    if (type != FLINT_TYPE_BF16) {
        fl_mm_avx512_pack_act(type, a, packed, c0, c1);
        return;
    }
    const int64_t k = a->k, nkb = k_blocks(k);
    const int np = parts();
    for (int64_t t0 = c0; t0 < c1; t0 += 16) {
        uint8_t *tile = (uint8_t *)packed + (uint64_t)(t0 / 16) * xtile_bytes(k, np);
        for (int64_t kb = 0; kb < nkb; kb++) {
            uint8_t *dst = tile + (uint64_t)kb * (uint64_t)np * TILE;
            for (int64_t j = 0; j < 16; j++) {
                const bool live = t0 + j < a->n;
                const float *x = a->f32 + (live ? t0 + j : 0) * k + kb * TK;
                for (int h = 0; h < 2; h++) {
                    __m256i part[MAX_PARTS];
                    split(_mm512_maskz_loadu_ps(live ? fl_mm_avx512_mask16(k - kb * TK - 16 * h) : 0, x + 16 * h), part, np);
                    for (int p = 0; p < np; p++) _mm256_store_si256((__m256i *)(dst + p * TILE + 64 * j + 32 * h), part[p]);
                }
            }
        }
    }
}

/* Weight rows [r0, r0 + rows) x k-blocks [kb0, kb0 + nkb) into tiles
 * dst[j][kb] (j: the unit's 16-row tiles) in the pair layout: the 64
 * bytes of each row are 16 pairs, so a 16 x 16 transpose of 32-bit words
 * puts pair i of every row into tile row i. */
static void pack_w(const fl_weight *w, int64_t r0, int64_t rows, int64_t kb0, int64_t nkb, uint8_t *dst) {
    for (int64_t j = 0; j * 16 < rows; j++) {
        for (int64_t kb = 0; kb < nkb; kb++) {
            const int64_t k0 = (kb0 + kb) * TK, left = w->k - k0;
            const __mmask32 m = left >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1u << left) - 1);
            __m512 v[16];
            for (int c = 0; c < 16; c++) {
                const int64_t r = j * 16 + c;
                const uint8_t *row = r < rows ? (const uint8_t *)w->data + (uint64_t)(r0 + r) * w->row_bytes : NULL;
                v[c] = row ? _mm512_castsi512_ps(_mm512_maskz_loadu_epi16(m, row + k0 * 2)) : _mm512_setzero_ps();
            }
            fl_mm_avx512_transpose16(v);
            uint8_t *t = dst + (uint64_t)(j * nkb + kb) * TILE;
            for (int i = 0; i < 16; i++) _mm512_store_ps(t + 64 * i, v[i]);
        }
    }
}

/* The C tile of activation rows [c0, c0 + 16) and weight rows [r, r + 16)
 * of y: in place when all of it lies in y's rows and the task's columns,
 * else through the bounce buffer (the live part, zero elsewhere). */
typedef struct ctile {
    float *p;     /* y + c0 * ldy + r */
    int64_t nc, nr; /* live rows (activations) and columns (weight rows) */
} ctile;

#define C_IN(T, ct, first, ldy, bounce)                                                                         \
    do {                                                                                                     \
        if (first) {                                                                                         \
            _tile_zero(T);                                                                                   \
        } else if ((ct).nc == 16 && (ct).nr == 16) {                                                         \
            _tile_loadd(T, (ct).p, (ldy) * 4);                                                               \
        } else {                                                                                             \
            for (int i_ = 0; i_ < 16; i_++)                                                                  \
                _mm512_store_ps((bounce) + 16 * i_,                                                          \
                                _mm512_maskz_loadu_ps(i_ < (ct).nc ? fl_mm_avx512_mask16((ct).nr) : 0,      \
                                                      (ct).p + (i_ < (ct).nc ? i_ * (ldy) : 0)));            \
            _tile_loadd(T, (bounce), 64);                                                                    \
        }                                                                                                    \
    } while (0)

#define C_OUT(T, ct, ldy, bounce)                                                                             \
    do {                                                                                                     \
        if ((ct).nc == 16 && (ct).nr == 16) {                                                                \
            _tile_stored(T, (ct).p, (ldy) * 4);                                                              \
        } else {                                                                                             \
            _tile_stored(T, (bounce), 64);                                                                   \
            for (int64_t i_ = 0; i_ < (ct).nc; i_++)                                                         \
                _mm512_mask_storeu_ps((ct).p + i_ * (ldy), fl_mm_avx512_mask16((ct).nr),                     \
                                      _mm512_load_ps((bounce) + 16 * i_));                                   \
        }                                                                                                    \
    } while (0)

/* C[2 activation tiles][2 weight tiles] over nk k-blocks: x points at the
 * first activation tile's k-block (the second is xs bytes further), wt at
 * the first weight tile's (the second ws bytes further). nx, nw: 1 or 2;
 * np parts per activation tile. Per part the two activation tiles go to
 * tmm4 and tmm5 and feed the four accumulators in turn. Tile numbers must
 * be literals; the branches cost nothing next to a tdpbf16ps (16 cycles). */
static void block(const uint8_t *x, uint64_t xs, const uint8_t *wt, uint64_t ws, int64_t nk, const ctile c[4],
                  bool first, int64_t ldy, float *bounce, int nx, int nw, int np) {
    C_IN(0, c[0], first, ldy, bounce);
    if (nw == 2) C_IN(1, c[1], first, ldy, bounce);
    if (nx == 2) C_IN(2, c[2], first, ldy, bounce);
    if (nx == 2 && nw == 2) C_IN(3, c[3], first, ldy, bounce);
    for (int64_t kb = 0; kb < nk; kb++) {
        const uint8_t *wa = wt + (uint64_t)kb * TILE;
        _tile_loadd(6, wa, 64);
        if (nw == 2) _tile_loadd(7, wa + ws, 64);
        const uint8_t *xa = x + (uint64_t)kb * (uint64_t)np * TILE;
        for (int p = 0; p < np; p++) {
            _tile_loadd(4, xa + p * TILE, 64);
            if (nx == 2) _tile_loadd(5, xa + xs + p * TILE, 64);
            _tile_dpbf16ps(0, 4, 6);
            if (nw == 2) _tile_dpbf16ps(1, 4, 7);
            if (nx == 2) _tile_dpbf16ps(2, 5, 6);
            if (nx == 2 && nw == 2) _tile_dpbf16ps(3, 5, 7);
        }
    }
    C_OUT(0, c[0], ldy, bounce);
    if (nw == 2) C_OUT(1, c[1], ldy, bounce);
    if (nx == 2) C_OUT(2, c[2], ldy, bounce);
    if (nx == 2 && nw == 2) C_OUT(3, c[3], ldy, bounce);
}

void fl_mm_amx_gemm_bf16(const fl_mm_job *job, int64_t r0, int64_t r1, void *scratch) {
    const fl_weight *w = job->w;
    const int64_t nkb = k_blocks(w->k), per = chunk_blocks(w->k), rows = r1 - r0, n = job->a->n, ldy = job->ldy;
    const int64_t nwt = (rows + 15) / 16, nxt = (n + 15) / 16;
    const int np = parts();
    const uint64_t xs = xtile_bytes(w->k, np);
    uint8_t *wbuf = scratch;
    float *bounce = (float *)(wbuf + (uint64_t)(FL_MM_AMX_ROWS / 16) * (uint64_t)per * TILE);
    _tile_loadconfig(&config);
    for (int64_t kb0 = 0; kb0 < nkb; kb0 += per) {
        const int64_t nk = nkb - kb0 < per ? nkb - kb0 : per;
        const uint64_t ws = (uint64_t)nk * TILE;
        pack_w(w, r0, rows, kb0, nk, wbuf);
        for (int64_t xt = 0; xt < nxt; xt += 2) {
            const int nx = nxt - xt >= 2 ? 2 : 1;
            const uint8_t *x = (const uint8_t *)job->a->packed + (uint64_t)xt * xs + (uint64_t)kb0 * (uint64_t)np * TILE;
            for (int64_t wt = 0; wt < nwt; wt += 2) {
                const int nw = nwt - wt >= 2 ? 2 : 1;
                ctile c[4] = {{0}};
                for (int i = 0; i < 4; i++) {
                    const int64_t c0 = (xt + i / 2) * 16, r = (wt + i % 2) * 16;
                    if (i / 2 < nx && i % 2 < nw)
                        c[i] = (ctile){job->y + c0 * ldy + r0 + r, n - c0 < 16 ? n - c0 : 16, rows - r < 16 ? rows - r : 16};
                }
                block(x, xs, wbuf + (uint64_t)wt * ws, ws, nk, c, kb0 == 0, ldy, bounce, nx, nw, np);
            }
        }
    }
    _tile_release();
}

#endif
