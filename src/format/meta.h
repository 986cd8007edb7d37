/* meta.h — typed metadata shared by every file format: GGUF key/values and
 * config.json (flattened to dotted keys) land in one fl_meta, so that the
 * public flint_meta_* calls and the model loaders read both the same way. */
#ifndef FL_FORMAT_META_H
#define FL_FORMAT_META_H

#include <stdbool.h>
#include <stdint.h>

#include "base/strmap.h"
#include "flint.h"

typedef struct fl_meta_value {
    flint_meta_type type;
    flint_meta_type elem_type; /* ARRAY: type of the elements (NULL if mixed) */
    uint64_t count;            /* ARRAY: elements; STRING: bytes */
    union {
        uint64_t u; /* U8/U16/U32/U64/BOOL, widened */
        int64_t i;  /* I8/I16/I32/I64 */
        double f;   /* F32/F64 */
    } num;
    /* STRING: the bytes (not NUL-terminated). ARRAY of numbers without
     * items: packed little-endian elements of elem_type, possibly unaligned. */
    const void *data;
    /* ARRAY of strings, of arrays, or any JSON array: one value per element. */
    struct fl_meta_value *items;
} fl_meta_value;

typedef struct fl_meta_kv {
    char *key; /* NUL-terminated, owned by the fl_meta */
    fl_meta_value value;
} fl_meta_kv;

typedef struct fl_meta {
    fl_meta_kv *kvs;
    int64_t n_kvs;
    fl_strmap index;  /* key -> position in kvs */
    /* Owned allocations (keys, item arrays, JSON strings), freed together. */
    void **owned;
    int64_t n_owned, cap_owned;
} fl_meta;

void fl_meta_free(fl_meta *meta);
/* Records p as owned by meta (freed by fl_meta_free); frees p and fails on OOM. */
flint_status fl_meta_own(fl_meta *meta, void *p);
/* Builds the key index; fails on a duplicate key (naming it). */
flint_status fl_meta_build_index(fl_meta *meta, const char *path);

const fl_meta_value *fl_meta_find(const fl_meta *meta, const char *key);
/* For HF configs: "text_config.<key>" if present, else "<key>". */
const fl_meta_value *fl_meta_find_text(const fl_meta *meta, const char *key);

/* Typed reads of a value; FLINT_E_TYPE if the value has another type or the
 * number does not fit. */
flint_status fl_meta_value_int(const fl_meta_value *v, int64_t *out);
flint_status fl_meta_value_float(const fl_meta_value *v, double *out);
/* Element i of an array as a value (decoding packed numbers into *tmp). */
flint_status fl_meta_array_at(const fl_meta_value *v, uint64_t i, fl_meta_value *tmp,
                              const fl_meta_value **out);
/* Decodes one packed little-endian scalar of a numeric or bool type (the
 * GGUF encoding) into *v. */
void fl_meta_decode_scalar(flint_meta_type type, const uint8_t *p, fl_meta_value *v);
/* Bytes of one packed element of a GGUF scalar type; 0 for STRING/ARRAY. */
uint32_t fl_meta_type_size(flint_meta_type type);
const char *fl_meta_type_name(flint_meta_type type);

#endif
