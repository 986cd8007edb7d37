/* spm_model.h — the pieces of a SentencePiece tokenizer.model (a protobuf
 * ModelProto): each piece's text, score and type, in id order. Only what
 * the converter reads; every length is checked against the buffer. */
#ifndef FL_CONVERT_SPM_MODEL_H
#define FL_CONVERT_SPM_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "flint.h"

typedef struct fl_spm_piece {
    const char *text; /* into the buffer, not NUL-terminated */
    uint32_t len;
    float score;      /* 0 when absent */
    int32_t type;     /* SentencePiece's: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte */
} fl_spm_piece;

/* Parses buf[0..size) (path names it in messages); *pieces is malloc'd and
 * points into buf. */
flint_status fl_spm_model_parse(const uint8_t *buf, size_t size, const char *path, fl_spm_piece **pieces, int64_t *n);

#endif
