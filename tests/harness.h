/* harness.h — the test harness: non-fatal checks that print file:line,
 * named groups, and a closing "<name>: N passed, N failed" line; the exit
 * status is the number of failures. tests/run.sh sums the binaries. */
#ifndef FL_TEST_HARNESS_H
#define FL_TEST_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int th_passed, th_failed;
static const char *th_group = "";

#define TEST_GROUP(name) (th_group = (name))

#define CHECK_MSG(cond, ...)                                                   \
    do {                                                                       \
        if (cond) {                                                            \
            th_passed++;                                                       \
        } else {                                                               \
            th_failed++;                                                       \
            fprintf(stderr, "%s:%d: [%s] FAILED: %s: ", __FILE__, __LINE__,   \
                    th_group, #cond);                                          \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
        }                                                                      \
    } while (0)

#define CHECK(cond) CHECK_MSG(cond, "%s", "")
#define CHECK_INT_EQ(a, b)                                                     \
    CHECK_MSG((long long)(a) == (long long)(b), "%lld != %lld", (long long)(a), (long long)(b))
#define CHECK_STR_EQ(a, b)                                                     \
    CHECK_MSG(strcmp((a), (b)) == 0, "\"%s\" != \"%s\"", (a), (b))
#define CHECK_NEAR(a, b, tol)                                                  \
    CHECK_MSG(fabs((double)(a) - (double)(b)) <= (tol), "%.9g vs %.9g (tol %g)", \
              (double)(a), (double)(b), (double)(tol))
/* A call that must fail with status st and a message containing needle. */
#define CHECK_FAILS(call, st, needle)                                          \
    do {                                                                       \
        flint_status th_s = (call);                                            \
        CHECK_MSG(th_s == (st) && strstr(flint_errmsg(), (needle)) != NULL,    \
                  "status %s, message \"%s\", wanted %s with \"%s\"",          \
                  flint_status_name(th_s), flint_errmsg(), flint_status_name(st), (needle)); \
    } while (0)

static inline int test_finish(const char *name) {
    printf("%s: %d passed, %d failed\n", name, th_passed, th_failed);
    return th_failed > 255 ? 255 : th_failed;
}

/* Fixture paths are relative to the repository root (tests run from it). */
#define FIXTURE_DIR "tests/fixtures"
#define FIXTURE(name) (FIXTURE_DIR "/" name)

#endif
