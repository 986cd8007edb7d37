/* kv.c — the paged KV pool (see kv.h): sizing and carving the pool, block
 * references, the per-sequence block tables, sliding-window release,
 * rewinding, forks and snapshots. It never allocates on the decode path
 * (reserve / advance / unwind / tiles); snapshot states are allocated when
 * a snapshot slot is first used. */
#include "cache/kv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

_Static_assert(FL_KV_BLOCK == FL_ATTN_TILE, "a KV block is one attention key tile");

static const char *const group_name[FL_KV_GROUPS] = {"global", "sliding-window"};

static int64_t div_up(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* ---- the pool ---- */

static int32_t blk_alloc(fl_kv_group *g) {
    if (g->n_free == 0) return -1;
    int32_t id = g->free_ids[--g->n_free];
    g->ref[id] = 1;
    int32_t *pos = g->pos + (int64_t)id * FL_KV_BLOCK;
    for (int32_t r = 0; r < FL_KV_BLOCK; r++) pos[r] = -1;
    return id;
}

static void blk_release(fl_kv_group *g, int32_t id) {
    if (id >= 0 && --g->ref[id] == 0) g->free_ids[g->n_free++] = id;
}

/* A new block of g holding src's rows at positions < keep (the rest
 * empty); its K/V copied by the parts' backends. */
static int32_t blk_copy(const fl_kv_pool *p, fl_kv_group *g, int32_t src, int32_t keep) {
    int32_t id = blk_alloc(g);
    if (id < 0) return -1;
    for (int part = 0; part < FL_KV_PARTS; part++) {
        const uint64_t b = g->part_bytes[part];
        if (b) fl_backend_copy(p->part_be[part], g->data[part] + (uint64_t)id * b, g->data[part] + (uint64_t)src * b, b);
    }
    const int32_t *sp = g->pos + (int64_t)src * FL_KV_BLOCK;
    int32_t *dp = g->pos + (int64_t)id * FL_KV_BLOCK;
    for (int32_t r = 0; r < FL_KV_BLOCK; r++) dp[r] = sp[r] < keep ? sp[r] : -1;
    return id;
}

static int group_of_layer(const fl_hparams *hp, int32_t l) {
    const fl_layer_hparams *L = &hp->layer[l];
    if (L->recurrent) return -1;
    return L->sliding && hp->sliding_window > 0 ? FL_KV_SLIDING : FL_KV_GLOBAL;
}

/* Floats of one recurrent layer's state: its conv inputs and delta state. */
static int64_t state_floats(const fl_hparams *hp) {
    const int64_t channels = 2 * (int64_t)hp->ssm_n_k_heads * hp->ssm_d_k + (int64_t)hp->ssm_n_v_heads * hp->ssm_d_v;
    return (hp->ssm_conv_kernel - 1) * channels + (int64_t)hp->ssm_n_v_heads * hp->ssm_d_k * hp->ssm_d_v;
}

/* Each layer's part: its backend's, and the device's for a layer whose
 * K/V a device layer reads. */
static void place_layers(fl_kv_pool *p, const fl_placement *pl, const fl_hparams *hp) {
    for (int32_t l = 0; l < hp->n_layer; l++)
        p->part[l] = pl && fl_place_layer(pl, l) == pl->device ? FL_KV_DEVICE : FL_KV_HOST;
    for (int32_t l = 0; l < hp->n_layer; l++) {
        const int32_t s = hp->layer[l].kv_source;
        if (!hp->layer[l].recurrent && s != l && s >= 0 && s < l && p->part[l] == FL_KV_DEVICE &&
            p->part[s] == FL_KV_HOST) {
            /* a host layer writes the K/V a device layer reads: the
             * device's part, where the host backend's ops reach it too */
            p->part[s] = FL_KV_DEVICE;
            p->part_host[FL_KV_DEVICE] = true;
        }
    }
}

flint_status fl_kv_pool_init(fl_kv_pool *p, const fl_placement *pl, const fl_hparams *hp, int32_t kv_type,
                             int32_t n_seq, int32_t n_ctx, int32_t n_batch, int64_t kv_bytes) {
    memset(p, 0, sizeof *p);
    fl_backend *be = pl ? pl->device : NULL;
    p->be = be;
    p->part_be[FL_KV_HOST] = pl ? pl->host : NULL;
    p->part_be[FL_KV_DEVICE] = be;
    if (n_ctx <= 0 || n_batch <= 0 || n_seq <= 0 || kv_bytes < 0)
        return fl_errorf(FLINT_E_INVALID_ARG, "KV pool: context %d, batch %d, %d sequences, %lld bytes", n_ctx,
                         n_batch, n_seq, (long long)kv_bytes);
    switch (kv_type) {
    case FLINT_KV_DEFAULT:
    case FLINT_KV_F16: p->type = FLINT_TYPE_F16, p->elt = 2; break;
    case FLINT_KV_BF16: p->type = FLINT_TYPE_BF16, p->elt = 2; break;
    case FLINT_KV_F32: p->type = FLINT_TYPE_F32, p->elt = 4; break;
    default: return fl_errorf(FLINT_E_INVALID_ARG, "kv_type %d is not a flint_kv_type", kv_type);
    }
    p->n_layer = hp->n_layer;
    p->n_ctx = n_ctx;
    p->n_table = (int32_t)div_up(n_ctx, FL_KV_BLOCK);
    p->group = malloc((size_t)hp->n_layer * sizeof *p->group);
    p->off_k = calloc((size_t)hp->n_layer, sizeof *p->off_k);
    p->off_v = calloc((size_t)hp->n_layer, sizeof *p->off_v);
    p->row = calloc((size_t)hp->n_layer, sizeof *p->row);
    p->part = malloc((size_t)hp->n_layer * sizeof *p->part);
    if (!p->group || !p->off_k || !p->off_v || !p->row || !p->part) {
        fl_kv_pool_free(p);
        return fl_errorf(FLINT_E_NOMEM, "out of memory for the KV pool");
    }
    place_layers(p, pl, hp);
    bool has[FL_KV_GROUPS] = {false, false};
    for (int32_t l = 0; l < hp->n_layer; l++) {
        const fl_layer_hparams *L = &hp->layer[l];
        p->group[l] = -1;
        if (L->recurrent) {
            p->n_state += state_floats(hp);
            continue;
        }
        if (L->kv_source != l) continue;
        int g = group_of_layer(hp, l);
        fl_kv_group *G = &p->g[g];
        p->group[l] = (int8_t)g;
        p->row[l] = L->n_head_kv * L->head_dim;
        uint64_t plane = (uint64_t)FL_KV_BLOCK * (uint64_t)p->row[l] * (uint64_t)p->elt; /* a multiple of 64 */
        uint64_t *at = &G->part_bytes[p->part[l]];
        p->off_k[l] = *at;
        p->off_v[l] = *at + plane;
        *at += 2 * plane;
        G->block_bytes += 2 * plane;
        has[g] = true;
    }
    for (int32_t l = 0; l < hp->n_layer; l++) { /* readers of another layer's K/V */
        int32_t s = hp->layer[l].kv_source;
        if (hp->layer[l].recurrent || s == l) continue;
        if (s < 0 || s >= l || p->group[s] < 0) {
            fl_kv_pool_free(p);
            return fl_errorf(FLINT_E_FORMAT, "layer %d reads the K/V of layer %d, which keeps none", l, s);
        }
        p->group[l] = p->group[s], p->off_k[l] = p->off_k[s], p->off_v[l] = p->off_v[s], p->row[l] = p->row[s];
        p->part[l] = p->part[s];
    }
    if (has[FL_KV_SLIDING]) p->window = hp->sliding_window, p->keep = hp->sliding_window + n_batch;

    /* Room for one sequence to reach n_ctx: every block of either group.
     * A live sliding group holds only about (window + n_batch) / 64 + 2,
     * but its snapshots pin window + n_batch positions each, and a
     * sequence with its snapshots may pin the whole context. The pool's
     * memory is reserved, not touched, until blocks are used. */
    int64_t room[FL_KV_GROUPS] = {0, 0};
    for (int g = 0; g < FL_KV_GROUPS; g++)
        if (has[g]) room[g] = p->n_table;
    /* with a byte budget, the sliding group gets its steady need first: the
     * history it keeps, the two partly filled ends, a block per snapshot */
    int64_t sliding_need = div_up(p->keep, FL_KV_BLOCK) + 2 + FLINT_MAX_SNAPSHOTS;
    if (sliding_need > p->n_table) sliding_need = p->n_table;
    int64_t n_blocks[FL_KV_GROUPS];
    uint64_t per[FL_KV_GROUPS]; /* bytes per block, positions included */
    for (int g = 0; g < FL_KV_GROUPS; g++) {
        n_blocks[g] = room[g] * n_seq;
        per[g] = p->g[g].block_bytes + FL_KV_BLOCK * sizeof(int32_t);
    }
    if (kv_bytes > 0) {
        /* sliding first, up to its room (it stays small), the rest global */
        uint64_t left = (uint64_t)kv_bytes;
        if (has[FL_KV_SLIDING]) {
            int64_t want = sliding_need * n_seq;
            if (has[FL_KV_GLOBAL] && (uint64_t)want * per[FL_KV_SLIDING] + per[FL_KV_GLOBAL] > left)
                want = (int64_t)(left / 2 / per[FL_KV_SLIDING]); /* a small pool: half each */
            int64_t fit = (int64_t)(left / per[FL_KV_SLIDING]);
            n_blocks[FL_KV_SLIDING] = want < fit ? want : fit;
            left -= (uint64_t)n_blocks[FL_KV_SLIDING] * per[FL_KV_SLIDING];
        }
        if (has[FL_KV_GLOBAL]) n_blocks[FL_KV_GLOBAL] = (int64_t)(left / per[FL_KV_GLOBAL]);
        for (int g = 0; g < FL_KV_GROUPS; g++)
            if (has[g] && n_blocks[g] == 0) {
                fl_kv_pool_free(p);
                return fl_errorf(FLINT_E_INVALID_ARG,
                                 "kv_bytes %lld cannot hold one %s block (%llu bytes) beside the others",
                                 (long long)kv_bytes, group_name[g], (unsigned long long)per[g]);
            }
    }
    for (int g = 0; g < FL_KV_GROUPS; g++) {
        fl_kv_group *G = &p->g[g];
        if (!has[g]) continue;
        G->n_blocks = n_blocks[g];
        if (G->n_blocks > INT32_MAX || (uint64_t)G->n_blocks > SIZE_MAX / G->block_bytes) {
            fl_kv_pool_free(p);
            return fl_errorf(FLINT_E_INVALID_ARG, "KV pool of %lld %s blocks is too large", (long long)G->n_blocks,
                             group_name[g]);
        }
        size_t bytes = (size_t)G->n_blocks * G->block_bytes;
        bool parts_ok = true;
        for (int part = 0; part < FL_KV_PARTS; part++)
            if (G->part_bytes[part]) {
                G->data[part] = (p->part_host[part] ? fl_backend_alloc : fl_backend_alloc_device)(
                    p->part_be[part], (size_t)G->n_blocks * G->part_bytes[part]);
                parts_ok &= G->data[part] != NULL;
            }
        G->pos = fl_backend_alloc(be, (size_t)G->n_blocks * FL_KV_BLOCK * sizeof *G->pos);
        G->ref = calloc((size_t)G->n_blocks, sizeof *G->ref);
        G->free_ids = malloc((size_t)G->n_blocks * sizeof *G->free_ids);
        if (!parts_ok || !G->pos || !G->ref || !G->free_ids) {
            fl_kv_pool_free(p);
            return fl_errorf(FLINT_E_NOMEM, "out of memory for a KV pool of %lld %s blocks (%llu bytes)",
                             (long long)n_blocks[g], group_name[g], (unsigned long long)bytes);
        }
        /* handed out from id 0 up (the stack's top is the lowest id) */
        for (int64_t i = 0; i < G->n_blocks; i++) G->free_ids[i] = (int32_t)(G->n_blocks - 1 - i);
        G->n_free = G->n_blocks;
    }
    return FLINT_OK;
}

uint64_t fl_kv_layer_bytes(const fl_hparams *hp, int32_t l, int32_t kv_type, int32_t n_seq, int32_t n_ctx) {
    const fl_layer_hparams *L = &hp->layer[l];
    if (L->recurrent) return (uint64_t)state_floats(hp) * sizeof(float) * (uint64_t)n_seq;
    if (L->kv_source != l) return 0;
    const uint64_t elt = kv_type == FLINT_KV_F32 ? 4 : 2, rows = (uint64_t)div_up(n_ctx, FL_KV_BLOCK) * FL_KV_BLOCK;
    return 2 * (uint64_t)L->n_head_kv * (uint64_t)L->head_dim * elt * rows * (uint64_t)n_seq;
}

void fl_kv_pool_free(fl_kv_pool *p) {
    for (int g = 0; g < FL_KV_GROUPS; g++) {
        for (int part = 0; part < FL_KV_PARTS; part++)
            if (p->g[g].data[part]) fl_backend_free(p->part_be[part], p->g[g].data[part]);
        fl_backend_free(p->be, p->g[g].pos);
        free(p->g[g].ref);
        free(p->g[g].free_ids);
    }
    free(p->group);
    free(p->off_k);
    free(p->off_v);
    free(p->row);
    free(p->part);
    memset(p, 0, sizeof *p);
}

int64_t fl_kv_pool_blocks_total(const fl_kv_pool *p) { return p->g[0].n_blocks + p->g[1].n_blocks; }
int64_t fl_kv_pool_blocks_free(const fl_kv_pool *p) { return p->g[0].n_free + p->g[1].n_free; }

uint64_t fl_kv_pool_bytes_used(const fl_kv_pool *p) {
    uint64_t b = p->snap_bytes;
    for (int g = 0; g < FL_KV_GROUPS; g++)
        b += (uint64_t)(p->g[g].n_blocks - p->g[g].n_free) * (p->g[g].block_bytes + FL_KV_BLOCK * sizeof(int32_t));
    return b;
}

uint64_t fl_kv_pool_bytes(const fl_kv_pool *p) {
    uint64_t b = p->snap_bytes;
    for (int g = 0; g < FL_KV_GROUPS; g++)
        b += (uint64_t)p->g[g].n_blocks * (p->g[g].block_bytes + FL_KV_BLOCK * sizeof(int32_t));
    return b;
}

/* ---- a sequence ---- */

static bool has_group(const fl_kv_cache *c, int g) { return c->table[g] != NULL; }

/* n floats of the backend's memory (only its ops touch them), zero */
static float *zeros(fl_backend *be, int64_t n) {
    float *f = fl_backend_alloc_device(be, (size_t)n * sizeof *f);
    if (f) fl_backend_copy(be, f, NULL, (size_t)n * sizeof *f);
    return f;
}

flint_status fl_kv_cache_init(fl_kv_cache *c, fl_kv_pool *pool, const fl_hparams *hp) {
    memset(c, 0, sizeof *c);
    c->pool = pool;
    c->n_layer = hp->n_layer;
    c->n_ctx = pool->n_ctx;
    for (int32_t i = 0; i < FLINT_MAX_SNAPSHOTS; i++) c->snap[i].n_past = -1;
    c->layers = calloc((size_t)hp->n_layer, sizeof *c->layers);
    c->tiles = malloc((size_t)pool->n_table * sizeof *c->tiles);
    bool ok = c->layers && c->tiles;
    for (int g = 0; g < FL_KV_GROUPS && ok; g++) {
        if (!pool->g[g].n_blocks) continue;
        c->table[g] = malloc((size_t)pool->n_table * sizeof *c->table[g]);
        ok = c->table[g] != NULL;
        for (int32_t i = 0; ok && i < pool->n_table; i++) c->table[g][i] = -1;
    }
    for (int32_t i = 0; ok && pool->window > 0 && i < FLINT_MAX_SNAPSHOTS; i++)
        ok = (c->snap[i].pin = malloc((size_t)pool->n_table * sizeof *c->snap[i].pin)) != NULL;
    for (int32_t l = 0; l < hp->n_layer && ok; l++) {
        if (!hp->layer[l].recurrent) continue;
        fl_kv_layer *kl = &c->layers[l];
        int64_t channels = 2 * (int64_t)hp->ssm_n_k_heads * hp->ssm_d_k + (int64_t)hp->ssm_n_v_heads * hp->ssm_d_v;
        kl->n_conv = (hp->ssm_conv_kernel - 1) * channels;
        kl->n_ssm = (int64_t)hp->ssm_n_v_heads * hp->ssm_d_k * hp->ssm_d_v;
        fl_backend *be = pool->part_be[pool->part[l]];
        kl->conv = zeros(be, kl->n_conv > 0 ? kl->n_conv : 1);
        kl->ssm = zeros(be, kl->n_ssm);
        ok = kl->conv && kl->ssm;
        c->bytes += (uint64_t)(kl->n_conv + kl->n_ssm) * sizeof(float);
    }
    if (!ok) {
        fl_kv_cache_free(c);
        return fl_errorf(FLINT_E_NOMEM, "out of memory for a sequence's cache");
    }
    return FLINT_OK;
}

static void snap_drop(fl_kv_cache *c, fl_kv_snapshot *s) {
    if (s->n_past < 0) return;
    for (int32_t i = 0; i < s->n_pin; i++) blk_release(&c->pool->g[FL_KV_SLIDING], s->pin[i]);
    s->n_pin = 0;
    s->n_past = -1;
    c->pool->snap_bytes -= (uint64_t)c->pool->n_state * sizeof(float);
}

static void release_from(fl_kv_cache *c, int g, int32_t from) {
    for (int32_t i = from; i < c->pool->n_table; i++) {
        blk_release(&c->pool->g[g], c->table[g][i]);
        c->table[g][i] = -1;
    }
}

void fl_kv_cache_reset(fl_kv_cache *c) {
    if (!c->pool) return;
    for (int32_t i = 0; i < FLINT_MAX_SNAPSHOTS; i++) snap_drop(c, &c->snap[i]);
    for (int g = 0; g < FL_KV_GROUPS; g++)
        if (has_group(c, g)) {
            release_from(c, g, 0);
            c->first[g] = 0;
        }
    for (int32_t l = 0; l < c->n_layer; l++) {
        fl_kv_layer *kl = &c->layers[l];
        fl_backend *be = c->pool->part_be[c->pool->part[l]];
        if (kl->conv) fl_backend_copy(be, kl->conv, NULL, (size_t)kl->n_conv * sizeof *kl->conv);
        if (kl->ssm) fl_backend_copy(be, kl->ssm, NULL, (size_t)kl->n_ssm * sizeof *kl->ssm);
    }
    c->n_past = 0;
}

void fl_kv_cache_free(fl_kv_cache *c) {
    if (c->layers) fl_kv_cache_reset(c);
    for (int32_t l = 0; l < c->n_layer && c->layers; l++) {
        fl_backend *be = c->pool->part_be[c->pool->part[l]];
        if (c->layers[l].conv) fl_backend_free(be, c->layers[l].conv);
        if (c->layers[l].ssm) fl_backend_free(be, c->layers[l].ssm);
    }
    for (int32_t i = 0; i < FLINT_MAX_SNAPSHOTS; i++) {
        for (int part = 0; part < FL_KV_PARTS; part++)
            if (c->snap[i].state[part]) fl_backend_free(c->pool->part_be[part], c->snap[i].state[part]);
        free(c->snap[i].pin);
    }
    for (int g = 0; g < FL_KV_GROUPS; g++) free(c->table[g]);
    free(c->layers);
    free(c->tiles);
    memset(c, 0, sizeof *c);
}

/* ---- a step ---- */

void fl_kv_cache_need(const fl_kv_cache *c, int32_t n, int64_t need[FL_KV_GROUPS]) {
    /* index n_past / 64 is held when n_past is not a block boundary */
    int64_t k = div_up((int64_t)c->n_past + n, FL_KV_BLOCK) - div_up(c->n_past, FL_KV_BLOCK);
    for (int g = 0; g < FL_KV_GROUPS; g++) need[g] = has_group(c, g) ? k : 0;
}

flint_status fl_kv_pool_fits(const fl_kv_pool *p, const int64_t need[FL_KV_GROUPS]) {
    for (int g = 0; g < FL_KV_GROUPS; g++)
        if (need[g] > p->g[g].n_free)
            return fl_errorf(FLINT_E_KV_FULL, "KV pool full: the step needs %lld new %s blocks, %lld of %lld free",
                             (long long)need[g], group_name[g], (long long)p->g[g].n_free,
                             (long long)p->g[g].n_blocks);
    return FLINT_OK;
}

void fl_kv_cache_reserve(fl_kv_cache *c, int32_t n) {
    fl_kv_pool *p = c->pool;
    for (int g = 0; g < FL_KV_GROUPS; g++) {
        if (!has_group(c, g)) continue;
        for (int32_t pos = c->n_past; pos < c->n_past + n; pos++) {
            int32_t *e = &c->table[g][pos / FL_KV_BLOCK];
            if (*e < 0) *e = blk_alloc(&p->g[g]); /* the caller checked fl_kv_pool_fits: never -1 */
            p->g[g].pos[(int64_t)*e * FL_KV_BLOCK + pos % FL_KV_BLOCK] = pos;
        }
    }
}

#define sliding_lo fl_kv_sliding_lo

void fl_kv_cache_advance(fl_kv_cache *c, int32_t n) {
    c->n_past += n;
    if (!has_group(c, FL_KV_SLIDING)) return;
    int32_t lo = sliding_lo(c->pool->keep, c->n_past);
    for (int32_t *i = &c->first[FL_KV_SLIDING]; *i < lo; (*i)++) {
        blk_release(&c->pool->g[FL_KV_SLIDING], c->table[FL_KV_SLIDING][*i]);
        c->table[FL_KV_SLIDING][*i] = -1;
    }
}

void fl_kv_cache_unwind(fl_kv_cache *c, int32_t n) {
    for (int g = 0; g < FL_KV_GROUPS; g++) {
        if (!has_group(c, g)) continue;
        for (int32_t pos = c->n_past; pos < c->n_past + n; pos++) {
            int32_t id = c->table[g][pos / FL_KV_BLOCK];
            if (id >= 0) c->pool->g[g].pos[(int64_t)id * FL_KV_BLOCK + pos % FL_KV_BLOCK] = -1;
        }
        release_from(c, g, (int32_t)div_up(c->n_past, FL_KV_BLOCK));
    }
}

int64_t fl_kv_cache_tiles(const fl_kv_cache *c, int32_t l) {
    const fl_kv_pool *p = c->pool;
    int g = p->group[l];
    const fl_kv_group *G = &p->g[g];
    int64_t n = 0;
    /* held entries are contiguous from first, the step's reserved blocks included */
    for (int32_t i = c->first[g]; i < p->n_table && c->table[g][i] >= 0; i++) {
        int32_t id = c->table[g][i];
        const uint8_t *b = G->data[p->part[l]] + (uint64_t)id * G->part_bytes[p->part[l]];
        c->tiles[n++] = (fl_kv_tile){b + p->off_k[l], b + p->off_v[l], G->pos + (int64_t)id * FL_KV_BLOCK};
    }
    return n;
}

/* ---- rewinding, forks, snapshots ---- */

/* Whether ids[lo..hi] (table indices) are all held. */
static bool held(const int32_t *ids, int32_t lo, int32_t hi) {
    for (int32_t i = lo; i <= hi; i++)
        if (ids[i] < 0) return false;
    return true;
}

/* Whether c's own sliding blocks can serve queries after length n. */
static bool sliding_ok(const fl_kv_cache *c, int32_t n) {
    if (!has_group(c, FL_KV_SLIDING) || n == 0) return true;
    return held(c->table[FL_KV_SLIDING], sliding_lo(c->pool->window, n), (n - 1) / FL_KV_BLOCK);
}

/* Whether snapshot s's pinned blocks can serve queries after length n <= s->n_past. */
static bool snap_sliding_ok(const fl_kv_cache *c, const fl_kv_snapshot *s, int32_t n) {
    if (!has_group(c, FL_KV_SLIDING) || n == 0) return true;
    return sliding_lo(c->pool->window, n) >= s->pin_first && (n - 1) / FL_KV_BLOCK < s->pin_first + s->n_pin;
}

flint_status fl_kv_cache_truncate(fl_kv_cache *c, int32_t n_keep) {
    if (n_keep < 0 || n_keep > c->n_past)
        return fl_errorf(FLINT_E_INVALID_ARG, "cannot keep %d of %d positions", n_keep, c->n_past);
    if (n_keep == 0) {
        fl_kv_cache_reset(c);
        return FLINT_OK;
    }
    if (n_keep == c->n_past) return FLINT_OK;
    if (c->pool->n_state > 0)
        return fl_errorf(FLINT_E_INVALID_ARG,
                         "cannot rewind %d positions: a recurrent state cannot be rewound (reset the sequence, or "
                         "fork from a snapshot)",
                         c->n_past - n_keep);
    if (!sliding_ok(c, n_keep))
        return fl_errorf(FLINT_E_INVALID_ARG,
                         "cannot rewind %d positions: the sliding-window layers no longer hold the window before "
                         "position %d",
                         c->n_past - n_keep, n_keep);
    /* the block holding the last kept position: copied first if shared */
    const int32_t last = (n_keep - 1) / FL_KV_BLOCK;
    bool partial = n_keep % FL_KV_BLOCK != 0;
    for (int g = 0; g < FL_KV_GROUPS; g++)
        if (partial && has_group(c, g) && c->pool->g[g].ref[c->table[g][last]] > 1 && c->pool->g[g].n_free == 0)
            return fl_errorf(FLINT_E_KV_FULL, "KV pool full: rewinding into a shared %s block needs a free block",
                             group_name[g]);
    for (int32_t i = 0; i < FLINT_MAX_SNAPSHOTS; i++)
        if (c->snap[i].n_past > n_keep) snap_drop(c, &c->snap[i]);
    for (int g = 0; g < FL_KV_GROUPS; g++) {
        if (!has_group(c, g)) continue;
        fl_kv_group *G = &c->pool->g[g];
        release_from(c, g, last + 1);
        if (!partial) continue;
        int32_t *e = &c->table[g][last];
        if (G->ref[*e] > 1) {
            int32_t id = blk_copy(c->pool, G, *e, n_keep);
            blk_release(G, *e);
            *e = id;
        } else {
            int32_t *pos = G->pos + (int64_t)*e * FL_KV_BLOCK;
            for (int32_t r = 0; r < FL_KV_BLOCK; r++)
                if (pos[r] >= n_keep) pos[r] = -1;
        }
    }
    c->n_past = n_keep;
    return FLINT_OK;
}

/* Floats of a snapshot's state in part's memory: its recurrent layers'. */
static int64_t part_state_floats(const fl_kv_cache *c, int part) {
    int64_t n = 0;
    for (int32_t l = 0; l < c->n_layer; l++)
        if (c->layers[l].ssm && c->pool->part[l] == part) n += c->layers[l].n_conv + c->layers[l].n_ssm;
    return n;
}

/* Every recurrent layer's live state copied into (save) or out of a
 * snapshot's arrays, by the backend whose memory holds both. */
static void state_move(const fl_kv_cache *c, float *const snap[FL_KV_PARTS], bool save) {
    int64_t at[FL_KV_PARTS] = {0};
    for (int32_t l = 0; l < c->n_layer; l++) {
        const fl_kv_layer *kl = &c->layers[l];
        if (!kl->ssm) continue;
        const int part = c->pool->part[l];
        fl_backend *be = c->pool->part_be[part];
        float *conv = snap[part] + at[part], *ssm = conv + kl->n_conv;
        const size_t nc = (size_t)kl->n_conv * sizeof(float), ns = (size_t)kl->n_ssm * sizeof(float);
        if (save) fl_backend_copy(be, conv, kl->conv, nc), fl_backend_copy(be, ssm, kl->ssm, ns);
        else fl_backend_copy(be, kl->conv, conv, nc), fl_backend_copy(be, kl->ssm, ssm, ns);
        at[part] += kl->n_conv + kl->n_ssm;
    }
}

flint_status fl_kv_cache_fork(fl_kv_cache *dst, const fl_kv_cache *src, int32_t n_keep, int32_t *n_reused) {
    *n_reused = 0;
    if (dst == src || dst->pool != src->pool)
        return fl_errorf(FLINT_E_INVALID_ARG, "a fork needs two sequences of one context");
    if (n_keep < 0) return fl_errorf(FLINT_E_INVALID_ARG, "cannot keep %d positions", n_keep);
    fl_kv_pool *p = src->pool;
    const int32_t top = n_keep < src->n_past ? n_keep : src->n_past;
    /* the restore point: the live end (recurrent: only when it is <= n_keep),
     * else the best snapshot; sl: the snapshot whose pins serve the sliding
     * layers (NULL: src's own table), st: whose state (NULL: live) */
    int32_t P = 0;
    const fl_kv_snapshot *sl = NULL, *st = NULL;
    bool recurrent = p->n_state > 0;
    if ((!recurrent || top == src->n_past) && sliding_ok(src, top)) P = top;
    for (int32_t i = 0; i < FLINT_MAX_SNAPSHOTS; i++) {
        const fl_kv_snapshot *s = &src->snap[i];
        if (s->n_past < 0 || s->n_past > src->n_past) continue;
        int32_t cand = s->n_past < top ? s->n_past : top;
        if (recurrent && cand != s->n_past) continue;
        if (cand <= P) continue;
        if (sliding_ok(src, cand)) P = cand, sl = NULL, st = s;
        else if (snap_sliding_ok(src, s, cand)) P = cand, sl = s, st = s;
    }
    if (!recurrent) st = NULL;
    fl_kv_cache_reset(dst);
    if (P == 0) return FLINT_OK;

    const bool partial = P % FL_KV_BLOCK != 0;
    const int32_t last = (P - 1) / FL_KV_BLOCK;
    for (int g = 0; g < FL_KV_GROUPS; g++)
        if (partial && has_group(src, g) && p->g[g].n_free == 0)
            return fl_errorf(FLINT_E_KV_FULL, "KV pool full: a fork at %d copies a partly filled %s block, none free",
                             P, group_name[g]);
    for (int g = 0; g < FL_KV_GROUPS; g++) {
        if (!has_group(src, g)) continue;
        fl_kv_group *G = &p->g[g];
        int32_t lo = g == FL_KV_SLIDING ? sliding_lo(p->window, P) : 0;
        for (int32_t i = lo; i <= last; i++) {
            int32_t id = g == FL_KV_SLIDING && sl ? sl->pin[i - sl->pin_first] : src->table[g][i];
            if (i == last && partial) id = blk_copy(p, G, id, P);
            else G->ref[id]++;
            dst->table[g][i] = id;
        }
        dst->first[g] = lo;
    }
    if (recurrent) {
        if (st) state_move(dst, st->state, false);
        else
            for (int32_t l = 0; l < dst->n_layer; l++) {
                fl_kv_layer *d = &dst->layers[l];
                const fl_kv_layer *s = &src->layers[l];
                fl_backend *be = p->part_be[p->part[l]];
                if (!d->ssm) continue;
                fl_backend_copy(be, d->conv, s->conv, (size_t)d->n_conv * sizeof(float));
                fl_backend_copy(be, d->ssm, s->ssm, (size_t)d->n_ssm * sizeof(float));
            }
    }
    dst->n_past = P;
    *n_reused = P;
    return FLINT_OK;
}

flint_status fl_kv_cache_copy(fl_kv_cache *dst, const fl_kv_cache *src) {
    if (dst == src) return FLINT_OK;
    int32_t P;
    flint_status st = fl_kv_cache_fork(dst, src, src->n_past, &P);
    if (!st && P != src->n_past) /* the live end is always restorable */
        st = fl_errorf(FLINT_E_INVALID_ARG, "cache copy restored %d of %d positions", P, src->n_past);
    return st;
}

flint_status fl_kv_snapshot_take(fl_kv_cache *c) {
    fl_kv_pool *p = c->pool;
    if (p->n_state == 0 && p->window == 0) return FLINT_OK;
    /* the slot: one at this length already, a free one, or the one whose
     * loss leaves the smallest gap between the positions still restorable
     * (its neighbours below and above, 0 and the new length at the ends)
     * relative to its distance from the end; never the earliest. The kept
     * snapshots thin out geometrically into the past, dense near the end
     * (where a shared prefix most often stops), and the first stays (the
     * start of a long prompt: a system prompt). 16 taken every 128
     * positions keep 128, 640, 1152, 1408, 1664, 1792, 1920, 2048. */
    fl_kv_snapshot *s = NULL;
    for (int32_t i = 0; i < FLINT_MAX_SNAPSHOTS && !s; i++)
        if (c->snap[i].n_past == c->n_past) s = &c->snap[i];
    for (int32_t i = 0; i < FLINT_MAX_SNAPSHOTS && !s; i++)
        if (c->snap[i].n_past < 0) s = &c->snap[i];
    const bool found = s != NULL;
    int32_t lowest = INT32_MAX;
    for (int32_t i = 0; i < FLINT_MAX_SNAPSHOTS; i++)
        if (c->snap[i].n_past >= 0 && c->snap[i].n_past < lowest) lowest = c->snap[i].n_past;
    double best = INFINITY;
    for (int32_t i = 0; i < FLINT_MAX_SNAPSHOTS && !found; i++) {
        int32_t below = 0, above = c->n_past, at = c->snap[i].n_past;
        if (at == lowest) continue; /* the earliest stays: the start of a long prompt */
        for (int32_t j = 0; j < FLINT_MAX_SNAPSHOTS; j++) {
            int32_t o = c->snap[j].n_past;
            if (o < at && o > below) below = o;
            if (o > at && o < above) above = o;
        }
        double cost = (double)(above - below) / (double)(c->n_past - at + 1);
        if (cost < best) best = cost, s = &c->snap[i];
    }
    for (int part = 0; part < FL_KV_PARTS && p->n_state > 0; part++) {
        const int64_t n = part_state_floats(c, part);
        if (n && !s->state[part] &&
            !(s->state[part] = fl_backend_alloc_device(p->part_be[part], (size_t)n * sizeof(float))))
            return fl_errorf(FLINT_E_NOMEM, "out of memory for a snapshot of the recurrent state");
    }
    snap_drop(c, s);
    if (p->n_state > 0) state_move(c, s->state, true);
    if (has_group(c, FL_KV_SLIDING) && c->n_past > 0) {
        /* window + n_batch back: a fork anywhere in the step that ended
         * here (not only at its end) finds its window pinned */
        s->pin_first = sliding_lo(p->keep, c->n_past);
        if (s->pin_first < c->first[FL_KV_SLIDING]) s->pin_first = c->first[FL_KV_SLIDING];
        for (int32_t i = s->pin_first; i <= (c->n_past - 1) / FL_KV_BLOCK; i++) {
            int32_t id = c->table[FL_KV_SLIDING][i]; /* held: keep positions behind n_past always are */
            p->g[FL_KV_SLIDING].ref[id]++;
            s->pin[s->n_pin++] = id;
        }
    }
    s->n_past = c->n_past;
    s->stamp = ++c->snap_clock;
    p->snap_bytes += (uint64_t)p->n_state * sizeof(float);
    return FLINT_OK;
}

int32_t fl_kv_snapshot_count(const fl_kv_cache *c) {
    int32_t n = 0;
    for (int32_t i = 0; i < FLINT_MAX_SNAPSHOTS; i++) n += c->snap[i].n_past >= 0;
    return n;
}
