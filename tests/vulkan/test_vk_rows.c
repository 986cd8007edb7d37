/* test_vk_rows.c — copy_rows and store_rows on the device against the CPU
 * backend (strided rows; K/V rows as F32, F16 and BF16 at scattered
 * destinations, rounding ties and overflow included), deferred mode (ops
 * recorded, nothing run before the sync, the chain's result after it
 * equal to the immediate run, an op's error reported by the sync), and
 * device-only memory with the copy op (bits kept, zeros, misuse). */
#include "vk_harness.h"

static void check_copy(vk_pair *p) {
    TEST_GROUP("copy_rows");
    static const int64_t shapes[][4] = {{1, 1, 1, 1}, {5, 9, 7, 5}, {300, 256, 128, 128}, {7, 1000, 333, 333}};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const int64_t n = shapes[i][0], xs = shapes[i][1], ys = shapes[i][2], w = shapes[i][3];
        float *x = vk_floats(p, n * xs), *y = vk_floats(p, n * ys), *ref = calloc((size_t)(n * ys), sizeof *ref);
        vk_fill(x, n * xs, 7 + i, -1, 1);
        p->gpu->ops->copy_rows(p->gpu, y, ys, x + (xs - w), xs, n, w);
        p->cpu->ops->copy_rows(p->cpu, ref, ys, x + (xs - w), xs, n, w);
        CHECK_CLOSE(y, ref, n * ys, 0, 0, "%lld rows of %lld, strides %lld -> %lld", (long long)n, (long long)w,
                    (long long)xs, (long long)ys);
        vk_release(p, x), vk_release(p, y);
        free(ref);
    }
}

static void check_store(vk_pair *p) {
    TEST_GROUP("store_rows");
    const int64_t n = 37, w = 96, slots = 64;
    const flint_type types[3] = {FLINT_TYPE_F32, FLINT_TYPE_F16, FLINT_TYPE_BF16};
    float *x = vk_floats(p, n * w);
    vk_fill(x, n * w, 3, -70000, 70000); /* beyond f16's range: overflow to inf */
    x[0] = 1.0f + 0x1p-11f, x[1] = 1.0f / 3.0f, x[2] = -0.0f, x[3] = 1e-30f, x[4] = 65520.0f, x[5] = 6e-8f;
    for (int t = 0; t < 3; t++) {
        const size_t elt = types[t] == FLINT_TYPE_F32 ? 4 : 2;
        uint8_t *pool = fl_backend_alloc(p->gpu, (size_t)(slots * w) * elt), *host = calloc((size_t)(slots * w), elt);
        memset(pool, 0x5a, (size_t)(slots * w) * elt), memset(host, 0x5a, (size_t)(slots * w) * elt);
        void *dst[37], *hdst[37];
        for (int64_t r = 0; r < n; r++) { /* scattered, in no order */
            const int64_t slot = (r * 23 + 5) % slots;
            dst[r] = pool + (size_t)(slot * w) * elt, hdst[r] = host + (size_t)(slot * w) * elt;
        }
        p->gpu->ops->store_rows(p->gpu, types[t], dst, x, n, w);
        p->cpu->ops->store_rows(p->cpu, types[t], hdst, x, n, w);
        CHECK_MSG(fl_backend_sync(p->gpu) == FLINT_OK && !memcmp(pool, host, (size_t)(slots * w) * elt),
                  "type %d: the pool differs from the CPU's bytes", (int)types[t]);
        fl_backend_free(p->gpu, pool);
        free(host);
    }
    vk_release(p, x);
}

static void check_deferred(vk_pair *p) {
    TEST_GROUP("deferred");
    const int64_t n = 1000;
    float *a = vk_floats(p, n), *b = vk_floats(p, n), *y = vk_floats(p, n), *z = vk_floats(p, 2 * n);
    float *ref_y = malloc(n * sizeof *ref_y), *ref_z = calloc(2 * n, sizeof *ref_z), *host = malloc(n * sizeof *host);
    vk_fill(a, n, 11, -2, 2), vk_fill(b, n, 12, -2, 2);
    /* the chain on the CPU */
    p->cpu->ops->add(p->cpu, ref_y, a, b, n);
    p->cpu->ops->gated(p->cpu, FL_ACT_SILU, ref_y, ref_y, a, n);
    p->cpu->ops->copy_rows(p->cpu, ref_z, 20, ref_y, 10, 100, 10);
    fl_vk_backend_set_deferred(p->gpu, true);
    p->gpu->ops->add(p->gpu, y, a, b, n);
    p->gpu->ops->gated(p->gpu, FL_ACT_SILU, y, y, a, n);
    p->gpu->ops->copy_rows(p->gpu, z, 20, y, 10, 100, 10);
    p->gpu->ops->scale(p->gpu, host, y, 1.0f, n); /* into host memory: copied out at the sync */
    int ran = 0;
    for (int64_t i = 0; i < n; i++) ran += y[i] != 0 || z[i] != 0;
    CHECK_MSG(ran == 0, "%d outputs written before the sync", ran);
    CHECK(fl_backend_sync(p->gpu) == FLINT_OK);
    CHECK_CLOSE(y, ref_y, n, 1e-6, 1e-5, "%s", "add, gated in place");
    CHECK_CLOSE(z, ref_z, 2 * n, 1e-6, 1e-5, "%s", "copy_rows of the chain's result");
    CHECK_CLOSE(host, ref_y, n, 1e-6, 1e-5, "%s", "host output after the sync");
    /* an op's error waits for the sync, which reports it once */
    float stray[4];
    void *bad[1] = {stray};
    p->gpu->ops->store_rows(p->gpu, FLINT_TYPE_F32, bad, a, 1, 4);
    CHECK_FAILS(fl_backend_sync(p->gpu), FLINT_E_INVALID_ARG, "not in backend memory");
    CHECK(fl_backend_sync(p->gpu) == FLINT_OK);
    fl_vk_backend_set_deferred(p->gpu, false);
    vk_release(p, a), vk_release(p, b), vk_release(p, y), vk_release(p, z);
    free(ref_y), free(ref_z), free(host);
}

/* The permissions /proc/self/maps gives the mapping holding p ("rw-p",
 * "---p"; "" if none). */
static void maps_perms(const void *p, char perms[5]) {
    perms[0] = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return;
    unsigned long lo, hi;
    char pr[5];
    while (fscanf(f, "%lx-%lx %4s%*[^\n]", &lo, &hi, pr) == 3)
        if ((uintptr_t)p >= lo && (uintptr_t)p < hi) {
            memcpy(perms, pr, 5);
            break;
        }
    fclose(f);
}

/* Memory only ops touch (fl_backend_alloc_device): a handle the host
 * cannot read, reached through the copy op, bit for bit. */
static void check_device_memory(vk_pair *p) {
    TEST_GROUP("device-only memory and copy");
    static const int64_t words[] = {1, 7, 256, 1000, 300001};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        const int64_t n = words[i];
        const size_t bytes = (size_t)n * 4;
        uint32_t *src = fl_backend_alloc(p->gpu, bytes), *dst = fl_backend_alloc(p->gpu, bytes);
        uint32_t *mid = fl_backend_alloc_device(p->gpu, bytes);
        CHECK_MSG(src && dst && mid, "%lld words: %s", (long long)n, flint_errmsg());
        if (!src || !dst || !mid) return;
        char perms[5];
        maps_perms(mid, perms);
        CHECK_MSG(!strcmp(perms, "---p"), "%lld words: the handle is mapped \"%s\", not inaccessible", (long long)n,
                  perms);
        uint64_t s = 0x243F6A8885A308D3ull + (uint64_t)n;
        for (int64_t j = 0; j < n; j++) { /* any bits: NaN payloads, signalling NaNs, f16 pairs */
            s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
            src[j] = (uint32_t)((s * 0x2545F4914F6CDD1Dull) >> 32);
        }
        src[0] = 0x7f800001u; /* a signalling NaN as f32 */
        memset(dst, 0xee, bytes);
        fl_backend_copy(p->gpu, mid, src, bytes);
        fl_backend_copy(p->gpu, dst, mid, bytes);
        CHECK(fl_backend_sync(p->gpu) == FLINT_OK);
        CHECK_MSG(!memcmp(dst, src, bytes), "%lld words through device-only memory differ", (long long)n);
        /* zeros, and a copy inside one allocation (its second half to its first) */
        fl_backend_copy(p->gpu, mid, NULL, bytes);
        if (n > 1) fl_backend_copy(p->gpu, mid, src + (n + 1) / 2, (size_t)(n / 2) * 4);
        fl_backend_copy(p->gpu, dst, mid, bytes);
        CHECK(fl_backend_sync(p->gpu) == FLINT_OK);
        int64_t bad = 0;
        for (int64_t j = 0; j < n; j++) bad += dst[j] != (j < n / 2 ? src[(n + 1) / 2 + j] : 0u);
        CHECK_MSG(bad == 0, "%lld words: %lld wrong after zeroing and a partial copy", (long long)n, (long long)bad);
        /* an op reads and writes it like any backend memory */
        float *f = (float *)mid;
        vk_fill((float *)src, n, 21 + i, -3, 3);
        fl_backend_copy(p->gpu, mid, src, bytes);
        p->gpu->ops->scale(p->gpu, f, f, 2.0f, n);
        p->gpu->ops->add(p->gpu, (float *)dst, f, (float *)src, n);
        CHECK(fl_backend_sync(p->gpu) == FLINT_OK);
        bad = 0;
        for (int64_t j = 0; j < n; j++) bad += ((float *)dst)[j] != 3.0f * ((float *)src)[j];
        CHECK_MSG(bad == 0, "%lld words: %lld wrong from ops on device-only memory", (long long)n, (long long)bad);
        fl_backend_free(p->gpu, src), fl_backend_free(p->gpu, dst), fl_backend_free(p->gpu, mid);
    }
    /* misuse is an error, reported by the next status */
    uint32_t *a = fl_backend_alloc_device(p->gpu, 64), host[16];
    fl_backend_copy(p->gpu, a, NULL, 6);
    CHECK_FAILS(fl_backend_sync(p->gpu), FLINT_E_INVALID_ARG, "aligned words");
    fl_backend_copy(p->gpu, a, host, 64);
    CHECK_FAILS(fl_backend_sync(p->gpu), FLINT_E_INVALID_ARG, "from outside");
    fl_backend_copy(p->gpu, host, a, 64);
    CHECK_FAILS(fl_backend_sync(p->gpu), FLINT_E_INVALID_ARG, "to outside");
    fl_backend_copy(p->gpu, a, NULL, 64);
    CHECK(fl_backend_sync(p->gpu) == FLINT_OK);
    fl_backend_free(p->gpu, a);
}

int main(void) {
    vk_pair p = vk_pair_open();
    check_copy(&p);
    check_store(&p);
    check_deferred(&p);
    check_device_memory(&p);
    vk_pair_close(&p);
    return test_finish("test_vk_rows");
}
