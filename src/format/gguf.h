/* gguf.h — GGUF v2/v3 reader. Parses the header, metadata and tensor infos
 * of a mapped file and checks every count, size and offset against the
 * file before use; tensor views point into the mapping (no data is read).
 * Layout: ../shared/docs/MODELS.md §8. */
#ifndef FL_FORMAT_GGUF_H
#define FL_FORMAT_GGUF_H

#include <stdint.h>

#include "base/file.h"
#include "base/strmap.h"
#include "format/meta.h"
#include "flint.h"

#define FL_GGUF_MAGIC 0x46554747u /* "GGUF" little-endian */
#define FL_GGUF_DEFAULT_ALIGNMENT 32

typedef struct fl_gguf {
    fl_map map;               /* set by fl_gguf_open; empty for fl_gguf_parse */
    const char *path;         /* for messages */
    uint32_t version;
    uint64_t alignment;       /* general.alignment, default 32 */
    uint64_t data_offset;     /* absolute offset of the data section */
    fl_meta meta;
    flint_tensor_info *tensors;
    int64_t n_tensors;
    fl_strmap tensor_index;   /* name -> position in tensors */
    char *names;              /* NUL-terminated tensor names, one block */
} fl_gguf;

/* Parses a GGUF image in memory (data must outlive g). path names it in
 * messages. On failure g holds nothing that needs freeing. */
flint_status fl_gguf_parse(fl_gguf *g, const uint8_t *data, uint64_t size, const char *path);
/* Maps path and parses it. */
flint_status fl_gguf_open(fl_gguf *g, const char *path);
void fl_gguf_close(fl_gguf *g);

/* Position of the tensor called name, or -1. */
int64_t fl_gguf_find_tensor(const fl_gguf *g, const char *name);

#endif
