/* safetensors.h — the safetensors reader: one file, or a Hugging Face folder
 * (model.safetensors, or shards listed by model.safetensors.index.json),
 * turned into one table of named tensor views into read-only mappings.
 *
 * Opening parses headers only; no tensor byte is read. Every view points
 * into a mapping that lives until fl_st_close().
 *
 * What a file must satisfy (the rules of the reference Rust crate,
 * safetensors::SafeTensors::read_metadata, plus a few of our own):
 *   - u64 LE header length N, N <= 100,000,000, 8 + N <= file size;
 *   - the header is a UTF-8 JSON object (trailing spaces allowed), without
 *     duplicate keys;
 *   - every entry except "__metadata__" is an object with "dtype" (string),
 *     "shape" (array of at most 8 non-negative integers) and "data_offsets"
 *     ([begin, end], integers, begin <= end); other fields are ignored;
 *   - end - begin == the bytes dtype x shape needs (F4 counts must be even,
 *     F6 counts a multiple of 4);
 *   - sorted by (begin, end) the ranges tile the data section exactly: the
 *     first starts at 0, each starts where the previous ended, the last ends
 *     at the end of the file. Gaps, overlaps and trailing bytes are errors,
 *     as in the crate (which every HF writer goes through);
 *   - names are non-empty UTF-8 (the crate allows "", we do not);
 *   - "__metadata__" is absent, null, or an object of strings.
 *
 * Shapes: ne[] is fastest-first (a [out, in] tensor has ne = {in, out});
 * a 0-d scalar has n_dims 0, ne all 1 and one element; a tensor with a zero
 * dim has size 0 and its data points at its (empty) range.
 *
 * Dtypes: BOOL U8 I8 U16 I16 F16 BF16 U32 I32 F32 F64 U64 I64 F8_E4M3
 * F8_E5M2 F8_E8M0 F8_E4M3FNUZ F8_E5M2FNUZ F4 F6_E2M3 F6_E3M2 C64 (every
 * dtype of safetensors 0.8); an unknown string is FLINT_E_UNSUPPORTED. */
#ifndef FL_FORMAT_SAFETENSORS_H
#define FL_FORMAT_SAFETENSORS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/file.h"
#include "base/strmap.h"
#include "flint.h"
#include "format/meta.h"

#define FL_ST_MAX_HEADER 100000000ull          /* the crate's MAX_HEADER_SIZE */
#define FL_ST_MAX_INDEX (64ull * 1024 * 1024)  /* model.safetensors.index.json */
#define FL_ST_INDEX_NAME "model.safetensors.index.json"
#define FL_ST_SINGLE_NAME "model.safetensors"

typedef struct fl_st_file {
    char *path;            /* owned; tensor views' .file points here */
    const uint8_t *data;   /* the whole file: the mapping or the caller's buffer */
    uint64_t size;
    uint64_t data_start;   /* 8 + N: data_offsets count from here */
    fl_map map;            /* the mapping when opened from disk (else zeroed) */
    fl_meta meta;          /* __metadata__: STRING values, NUL-terminated */
    char *names;           /* this file's tensor names, NUL-separated, owned */
    int64_t first_tensor;  /* this file's tensors are [first, first + n) */
    int64_t n_tensors;
} fl_st_file;

typedef struct fl_st {
    /* All tensors: file by file (shards in name order), each file's in data
     * order (by begin, end, then name). */
    flint_tensor_info *tensors;
    int32_t *tensor_file;  /* tensors[i] lives in files[tensor_file[i]] */
    int64_t n_tensors, cap_tensors;
    fl_st_file *files;
    int32_t n_files, cap_files;
    fl_strmap index;       /* name -> position in tensors */
} fl_st;

/* Parses one safetensors image in memory (borrowed: it must outlive st).
 * path names it in messages and in the views' .file. st is overwritten;
 * on failure it is left closed. */
flint_status fl_st_parse(fl_st *st, const void *data, uint64_t size, const char *path);
/* Maps and parses one .safetensors file. */
flint_status fl_st_open_file(fl_st *st, const char *path);
/* A Hugging Face folder: model.safetensors.index.json if present (every
 * shard it names, each once), else model.safetensors. Tensors a shard holds
 * but the weight_map does not list are loaded too (transformers ignores
 * them; they are harmless views). */
flint_status fl_st_open_dir(fl_st *st, const char *dir);
/* fl_st_open_dir for a folder, fl_st_open_file otherwise. */
flint_status fl_st_open(fl_st *st, const char *path);
void fl_st_close(fl_st *st);

/* The view named name, or NULL. */
const flint_tensor_info *fl_st_find(const fl_st *st, const char *name);
/* As fl_st_find, but FLINT_E_NOT_FOUND with a message naming the tensor. */
flint_status fl_st_get(const fl_st *st, const char *name, const flint_tensor_info **out);
/* The file holding tensors[i] (its path, mapping and __metadata__). */
const fl_st_file *fl_st_file_of(const fl_st *st, int64_t i);

/* "F32" -> FLINT_TYPE_F32 etc.; false for a string that is not a dtype
 * flint knows. */
bool fl_st_dtype_parse(const char *s, flint_type *out);

/* model.safetensors.index.json, parsed and checked: weight_map is an object
 * of strings, each shard a plain file name (no '/', '\\', not "." or "..",
 * non-empty) so that a hostile index cannot reach outside the folder. */
typedef struct fl_st_index {
    void *json;            /* the parsed document (owns the strings below) */
    const char **tensor;   /* weight_map entries, in file order */
    const char **shard;
    int64_t n_entries;
    const char **shards;   /* distinct shard names, sorted */
    int64_t n_shards;
} fl_st_index;

flint_status fl_st_index_parse(fl_st_index *ix, const char *json, uint64_t len, const char *path);
void fl_st_index_free(fl_st_index *ix);

#endif
