/* merge_heap.c — a binary min-heap of candidate merges. */
#include "tokenizer/merge_heap.h"

#include <stdbool.h>
#include <stdlib.h>

#include "base/error.h"

static bool before(const fl_merge *x, const fl_merge *y) {
    return x->key < y->key || (x->key == y->key && x->left < y->left);
}

flint_status fl_merge_push(fl_merge_heap *h, fl_merge m) {
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        fl_merge *a = realloc(h->m, cap * sizeof *a);
        if (!a) return fl_errorf(FLINT_E_NOMEM, "out of memory (tokenizer)");
        h->m = a, h->cap = cap;
    }
    size_t i = h->n++;
    while (i && before(&m, &h->m[(i - 1) / 2])) {
        h->m[i] = h->m[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->m[i] = m;
    return FLINT_OK;
}

fl_merge fl_merge_pop(fl_merge_heap *h) {
    fl_merge top = h->m[0], last = h->m[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && before(&h->m[c + 1], &h->m[c])) c++;
        if (!before(&h->m[c], &last)) break;
        h->m[i] = h->m[c];
        i = c;
    }
    if (h->n) h->m[i] = last;
    return top;
}

void fl_merge_heap_free(fl_merge_heap *h) {
    free(h->m);
    h->m = NULL;
    h->n = h->cap = 0;
}
