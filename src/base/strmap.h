/* strmap.h — an open-addressing hash index from names to int64 values
 * (tensor and metadata lookup, duplicate detection). Keys are borrowed:
 * they must outlive the map. */
#ifndef FL_BASE_STRMAP_H
#define FL_BASE_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flint.h"

typedef struct fl_strmap {
    const char **keys;
    size_t *lens;
    int64_t *vals;
    size_t cap; /* a power of two, or 0 */
    size_t count;
} fl_strmap;

/* Sizes the table for n entries. */
flint_status fl_strmap_init(fl_strmap *m, size_t n);
void fl_strmap_free(fl_strmap *m);
/* Inserts key -> val; returns false if the key is already present. */
bool fl_strmap_put(fl_strmap *m, const char *key, size_t len, int64_t val);
/* The value for key, or -1. */
int64_t fl_strmap_get(const fl_strmap *m, const char *key, size_t len);

#endif
