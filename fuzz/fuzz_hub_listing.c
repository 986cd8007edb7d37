/* fuzz_hub_listing.c — libFuzzer entry for the hub's tree listing parser
 * (hub/listing.c), fed what a hostile server could send: every accepted
 * entry must have a path that stays in the cache and a blob name of hex
 * digits; the same bytes as a Link header must give a next URL or none. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub/listing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fl_hub_listing ls = {0};
    if (fl_hub_listing_parse(&ls, (const char *)data, size) == FLINT_OK && fl_hub_listing_finish(&ls) == FLINT_OK) {
        for (int64_t i = 0; i < ls.n; i++) {
            const fl_hub_entry *e = &ls.v[i];
            if (fl_hub_path_problem(e->path, strlen(e->path))) abort();
            size_t n = strlen(e->blob);
            if (n != 64 && (e->lfs || n != 40)) abort();
            if (strspn(e->blob, "0123456789abcdef") != n) abort();
            if (i > 0 && strcmp(ls.v[i - 1].path, e->path) >= 0) abort();
        }
    }
    fl_hub_listing_free(&ls);
    char *s = strndup((const char *)data, size);
    if (s) {
        char *next = fl_hub_link_next(s);
        if (next && strlen(next) >= strlen(s)) abort();
        free(next);
        free(s);
    }
    return 0;
}
