/* fuzz_safetensors.c — libFuzzer entry for the safetensors header parser and
 * the model.safetensors.index.json parser (every input goes to both). On
 * success every view is touched end to end, so a range that escapes the
 * buffer shows up under ASan. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fl_st st;
    if (fl_st_parse(&st, data, size, "fuzz.safetensors") == FLINT_OK) {
        volatile uint8_t sink = 0;
        for (int64_t i = 0; i < st.n_tensors; i++) {
            const flint_tensor_info *t = &st.tensors[i];
            if (t->size) sink ^= ((const uint8_t *)t->data)[0] ^ ((const uint8_t *)t->data)[t->size - 1];
            if (fl_st_find(&st, t->name) != t) abort();
            if (t->offset + t->size > size || t->n_dims < 0 || t->n_dims > FLINT_MAX_DIMS) abort();
        }
        const fl_meta *m = &st.files[0].meta;
        for (int64_t i = 0; i < m->n_kvs; i++)
            if (fl_meta_find(m, m->kvs[i].key) != &m->kvs[i].value) abort();
        (void)sink;
        fl_st_close(&st);
    }

    fl_st_index ix;
    if (fl_st_index_parse(&ix, (const char *)data, size, "fuzz.index.json") == FLINT_OK) {
        for (int64_t i = 0; i < ix.n_shards; i++)
            if (strchr(ix.shards[i], '/') || !ix.shards[i][0]) abort();
        fl_st_index_free(&ix);
    }
    return 0;
}
