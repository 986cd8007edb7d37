/* test_vk_replay.c — recorded command buffers replayed (vk.h, "Replay"):
 * a segment whose dispatches equal an earlier one's runs that recording,
 * and must still read this step's data — new inputs, new row destinations
 * (store_rows' pointer list in the transient buffer), a new host output
 * (copied out from the transient buffer) — as the CPU backend computes it
 * on the same data. A changed count records afresh; a recording evicted
 * from the slots is recorded again; with replay off every segment is
 * recorded and the results are the same bits. */
#include "vk_harness.h"

#define N 777  /* elements of the chain (another count: N + MORE) */
#define MORE 50
#define W 48   /* K/V row width */
#define ROWS 5 /* rows stored per step */
#define SLOTS 64

typedef struct step_io {
    float *a, *b, *y;  /* backend memory */
    uint8_t *pool;     /* backend memory: [SLOTS][W] f16 rows */
    float host[N + MORE]; /* a foreign output, copied out at the sync */
} step_io;

static uint64_t counts(vk_pair *p, uint64_t *replayed) {
    uint64_t rec;
    fl_vk_backend_replay_counts(p->gpu, &rec, replayed);
    return rec;
}

/* One deferred step on the device and on the CPU: y = silu(a + b) * a,
 * rows of y stored as F16 at slots[r], y * 0.5 into a host array; checks
 * the device's results after the sync. */
static void step(vk_pair *p, step_io *io, int64_t n, const int32_t slots[ROWS], uint64_t seed, const char *what) {
    vk_fill(io->a, n, seed, -2, 2), vk_fill(io->b, n, seed + 1, -2, 2);
    float *ref_y = malloc((size_t)n * sizeof *ref_y), *ref_h = malloc((size_t)n * sizeof *ref_h);
    uint8_t *ref_pool = malloc((size_t)SLOTS * W * 2);
    memcpy(ref_pool, io->pool, (size_t)SLOTS * W * 2);
    void *dst[ROWS], *ref_dst[ROWS];
    for (int r = 0; r < ROWS; r++)
        dst[r] = io->pool + (size_t)slots[r] * W * 2, ref_dst[r] = ref_pool + (size_t)slots[r] * W * 2;
    p->cpu->ops->add(p->cpu, ref_y, io->a, io->b, n);
    p->cpu->ops->gated(p->cpu, FL_ACT_SILU, ref_y, ref_y, io->a, n);
    p->cpu->ops->store_rows(p->cpu, FLINT_TYPE_F16, ref_dst, ref_y, ROWS, W);
    p->cpu->ops->scale(p->cpu, ref_h, ref_y, 0.5f, n);

    p->gpu->ops->add(p->gpu, io->y, io->a, io->b, n);
    p->gpu->ops->gated(p->gpu, FL_ACT_SILU, io->y, io->y, io->a, n);
    p->gpu->ops->store_rows(p->gpu, FLINT_TYPE_F16, dst, io->y, ROWS, W);
    p->gpu->ops->scale(p->gpu, io->host, io->y, 0.5f, n);
    CHECK_MSG(fl_backend_sync(p->gpu) == FLINT_OK, "%s: sync: %s", what, flint_errmsg());
    CHECK_CLOSE(io->y, ref_y, n, 1e-6, 1e-5, "%s: the chain", what);
    CHECK_CLOSE(io->host, ref_h, n, 1e-6, 1e-5, "%s: the host output", what);
    CHECK_MSG(!memcmp(io->pool, ref_pool, (size_t)SLOTS * W * 2), "%s: the stored rows differ from the CPU's bytes",
              what);
    free(ref_y), free(ref_h), free(ref_pool);
}

static void check_replay(vk_pair *p) {
    TEST_GROUP("replay");
    step_io *io = calloc(1, sizeof *io);
    io->a = vk_floats(p, N + MORE), io->b = vk_floats(p, N + MORE), io->y = vk_floats(p, N + MORE);
    io->pool = fl_backend_alloc(p->gpu, (size_t)SLOTS * W * 2);
    memset(io->pool, 0, (size_t)SLOTS * W * 2);
    fl_vk_backend_set_deferred(p->gpu, true);

    uint64_t rep0, rec0 = counts(p, &rep0), rep, rec;
    const int32_t s1[ROWS] = {3, 9, 0, 40, 17}, s2[ROWS] = {63, 1, 22, 5, 30};
    step(p, io, N, s1, 1, "first step");
    rec = counts(p, &rep);
    CHECK_MSG(rec == rec0 + 1 && rep == rep0, "first step: %llu recorded, %llu replayed (want 1, 0)",
              (unsigned long long)(rec - rec0), (unsigned long long)(rep - rep0));
    /* same dispatches, other data, other destinations, the same host array
     * refilled: a replay that must read all of them anew */
    step(p, io, N, s2, 2, "replayed step");
    uint64_t rec2, rep2;
    rec2 = counts(p, &rep2);
    CHECK_MSG(rec2 == rec && rep2 == rep + 1, "second step: %llu recorded, %llu replayed (want 0, 1)",
              (unsigned long long)(rec2 - rec), (unsigned long long)(rep2 - rep));
    /* another count: recorded afresh (a replay of the first would leave
     * the last MORE elements unwritten) */
    step(p, io, N + MORE, s1, 3, "another count");
    rec = counts(p, &rep);
    CHECK_MSG(rec == rec2 + 1 && rep == rep2, "another count: %llu recorded, %llu replayed (want 1, 0)",
              (unsigned long long)(rec - rec2), (unsigned long long)(rep - rep2));
    step(p, io, N, s1, 4, "the first shape again");
    rec2 = counts(p, &rep2);
    CHECK_MSG(rec2 == rec && rep2 == rep + 1, "the first shape again: not replayed");

    /* more distinct segments than slots: the first shape is evicted */
    float *x = vk_floats(p, SLOTS + 8), *z = vk_floats(p, SLOTS + 8);
    for (int64_t n = 1; n <= SLOTS + 4; n++) {
        p->gpu->ops->scale(p->gpu, z, x, 2.0f, n);
        fl_backend_sync(p->gpu);
    }
    rec = counts(p, &rep);
    step(p, io, N, s2, 5, "after eviction");
    rec2 = counts(p, &rep2);
    CHECK_MSG(rec2 == rec + 1 && rep2 == rep, "after eviction: %llu recorded, %llu replayed (want 1, 0)",
              (unsigned long long)(rec2 - rec), (unsigned long long)(rep2 - rep));

    /* off: recorded every time, the same bits as a replay */
    step(p, io, N, s1, 6, "replayed for the bits");
    float *on = malloc(N * sizeof *on);
    memcpy(on, io->y, N * sizeof *on);
    fl_vk_backend_set_replay(p->gpu, false);
    rec = counts(p, &rep);
    step(p, io, N, s1, 6, "replay off");
    rec2 = counts(p, &rep2);
    CHECK_MSG(rec2 == rec + 1 && rep2 == rep, "replay off: %llu recorded, %llu replayed (want 1, 0)",
              (unsigned long long)(rec2 - rec), (unsigned long long)(rep2 - rep));
    CHECK_MSG(!memcmp(on, io->y, N * sizeof *on), "%s", "replay on and off differ");
    fl_vk_backend_set_replay(p->gpu, true);

    /* an error in a segment: nothing runs, nothing is kept */
    float stray[W];
    void *bad[1] = {stray};
    rec = counts(p, &rep);
    p->gpu->ops->add(p->gpu, io->y, io->a, io->b, N);
    p->gpu->ops->store_rows(p->gpu, FLINT_TYPE_F32, bad, io->a, 1, W);
    CHECK_FAILS(fl_backend_sync(p->gpu), FLINT_E_INVALID_ARG, "not in backend memory");
    rec2 = counts(p, &rep2);
    CHECK_MSG(rec2 == rec && rep2 == rep, "a failed segment was recorded or replayed");

    fl_vk_backend_set_deferred(p->gpu, false);
    free(on);
    vk_release(p, x), vk_release(p, z);
    vk_release(p, io->a), vk_release(p, io->b), vk_release(p, io->y);
    fl_backend_free(p->gpu, io->pool);
    free(io);
}

int main(void) {
    vk_pair p = vk_pair_open();
    check_replay(&p);
    vk_pair_close(&p);
    return test_finish("test_vk_replay");
}
