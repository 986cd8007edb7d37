/* merge_heap.h — the candidate merges of both BPE flavours in one binary
 * min-heap: the lowest key first, the leftmost on ties. SPM uses key =
 * -score (the best-scored pair first), rank BPE uses key = merge rank. The
 * payload a, b, c is the caller's (the ids or sizes it needs to recognise a
 * stale candidate). */
#ifndef FL_TOKENIZER_MERGE_HEAP_H
#define FL_TOKENIZER_MERGE_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "flint.h"

typedef struct fl_merge {
    double key;
    int32_t left;    /* the left symbol of the pair */
    int32_t a, b, c; /* payload */
} fl_merge;

typedef struct fl_merge_heap {
    fl_merge *m;
    size_t n, cap;
} fl_merge_heap;

flint_status fl_merge_push(fl_merge_heap *h, fl_merge m);
/* The first candidate; the heap must not be empty. */
fl_merge fl_merge_pop(fl_merge_heap *h);
void fl_merge_heap_free(fl_merge_heap *h);

#endif
