/* gguf_write.h — GGUF v3 writer. Metadata is gathered in an fl_meta (built
 * with the setters below or copied from a source file), tensor infos in an
 * array; fl_gguf_write_header() lays out header, key/values and tensor
 * infos and pads to the alignment, after which the caller streams each
 * tensor's bytes followed by fl_gguf_write_pad(). Layout:
 * ../shared/docs/MODELS.md §8. The writer only formats; the caller owns the
 * FILE and what becomes of a half-written file. */
#ifndef FL_FORMAT_GGUF_WRITE_H
#define FL_FORMAT_GGUF_WRITE_H

#include <stdint.h>
#include <stdio.h>

#include "format/meta.h"
#include "flint.h"

#define FL_GGUF_WRITE_ALIGNMENT 32

typedef struct fl_gguf_out_tensor {
    const char *name;
    flint_type type;            /* a ggml type (id < 64) */
    int32_t n_dims;             /* 1..4 */
    int64_t ne[4];              /* fastest-varying first */
    uint64_t size;              /* bytes of data */
    uint64_t offset;            /* set by fl_gguf_write_header: relative to the data section */
} fl_gguf_out_tensor;

/* Sets key to v in m: a key already there keeps its place and takes the new
 * value (as gguf's GGUFWriter does when a converter adds a key twice). The key
 * is copied; v's data and items must outlive m (use fl_meta_own). */
flint_status fl_gguf_kv_set(fl_meta *m, const char *key, const fl_meta_value *v);
flint_status fl_gguf_kv_u32(fl_meta *m, const char *key, uint32_t x);
flint_status fl_gguf_kv_f32(fl_meta *m, const char *key, float x);
flint_status fl_gguf_kv_bool(fl_meta *m, const char *key, bool x);
flint_status fl_gguf_kv_str(fl_meta *m, const char *key, const char *s);
/* An array of n packed little-endian elements of a numeric or bool type (copied). */
flint_status fl_gguf_kv_array(fl_meta *m, const char *key, flint_meta_type elem, const void *data, uint64_t n);
/* An array of n strings (text[i], len[i] bytes each), copied into m. */
flint_status fl_gguf_kv_strings(fl_meta *m, const char *key, const char *const *text, const uint32_t *len, uint64_t n);
/* Removes key if present. */
void fl_gguf_kv_remove(fl_meta *m, const char *key);
const fl_meta_value *fl_gguf_kv_find(const fl_meta *m, const char *key);

/* A value's GGUF encoding after its type tag: the scalar, a u64 length and
 * the bytes of a string, or an array's element type, u64 count and elements. */
flint_status fl_gguf_write_value(FILE *f, const fl_meta_value *v);

/* Writes the header, m's key/values in order and the tensor infos, then pads
 * to FL_GGUF_WRITE_ALIGNMENT; fills each tensor's offset. path names the file
 * in messages. */
flint_status fl_gguf_write_header(FILE *f, const char *path, const fl_meta *m, fl_gguf_out_tensor *t, int64_t n);
/* Zero bytes after a tensor of size bytes, up to the alignment. */
flint_status fl_gguf_write_pad(FILE *f, const char *path, uint64_t size);

#endif
