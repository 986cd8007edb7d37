/* test_vk_elementwise.c — add, mul, scale, act and gated on the device
 * against the CPU backend, at sizes around the 256-wide workgroup, in
 * place and out of place, and into host memory that is not the backend's. */
#include "vk_harness.h"

static const int64_t sizes[] = {1, 7, 255, 256, 257, 1000, 65537};

int main(void) {
    vk_pair p = vk_pair_open();
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        const int64_t n = sizes[si];
        float *a = vk_floats(&p, n), *b = vk_floats(&p, n), *y = vk_floats(&p, n), *ref = malloc(n * sizeof *ref);
        vk_fill(a, n, 1 + si, -6, 6);
        vk_fill(b, n, 100 + si, -3, 3);

        TEST_GROUP("add");
        p.gpu->ops->add(p.gpu, y, a, b, n);
        p.cpu->ops->add(p.cpu, ref, a, b, n);
        CHECK_CLOSE(y, ref, n, 0, 0, "add n %lld", (long long)n);
        TEST_GROUP("mul");
        p.gpu->ops->mul(p.gpu, y, a, b, n);
        p.cpu->ops->mul(p.cpu, ref, a, b, n);
        CHECK_CLOSE(y, ref, n, 0, 0, "mul n %lld", (long long)n);
        TEST_GROUP("scale");
        p.gpu->ops->scale(p.gpu, y, a, 0.37f, n);
        p.cpu->ops->scale(p.cpu, ref, a, 0.37f, n);
        CHECK_CLOSE(y, ref, n, 0, 0, "scale n %lld", (long long)n);
        for (int act = 0; act < 3; act++) {
            TEST_GROUP("act");
            p.gpu->ops->act(p.gpu, (fl_act)act, y, a, n);
            p.cpu->ops->act(p.cpu, (fl_act)act, ref, a, n);
            CHECK_CLOSE(y, ref, n, 1e-6, 1e-5, "act %d n %lld", act, (long long)n);
            TEST_GROUP("gated");
            p.gpu->ops->gated(p.gpu, (fl_act)act, y, a, b, n);
            p.cpu->ops->gated(p.cpu, (fl_act)act, ref, a, b, n);
            CHECK_CLOSE(y, ref, n, 1e-6, 1e-5, "gated %d n %lld", act, (long long)n);
        }
        TEST_GROUP("in place");
        memcpy(ref, a, n * sizeof *ref);
        p.gpu->ops->add(p.gpu, a, a, b, n);
        p.cpu->ops->add(p.cpu, ref, ref, b, n);
        CHECK_CLOSE(a, ref, n, 0, 0, "a += b, n %lld", (long long)n);

        TEST_GROUP("host output");
        float *host = malloc(n * sizeof *host);
        p.gpu->ops->mul(p.gpu, host, a, b, n);
        p.cpu->ops->mul(p.cpu, ref, a, b, n);
        CHECK_CLOSE(host, ref, n, 0, 0, "into malloc'd memory, n %lld", (long long)n);
        free(host);
        vk_release(&p, a), vk_release(&p, b), vk_release(&p, y);
        free(ref);
    }
    vk_pair_close(&p);
    return test_finish("test_vk_elementwise");
}
