/* spm_model.c — reads the pieces of a SentencePiece ModelProto: field 1
 * (repeated SentencePiece: 1 piece, 2 score, 3 type); every other field is
 * skipped by its wire type. Untrusted input: each varint and length is
 * bounded by the buffer (fuzz/fuzz_spm_model.c). */
#include "convert/spm_model.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

typedef struct reader {
    const uint8_t *p, *end;
} reader;

static bool varint(reader *r, uint64_t *out) {
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) return false;
        uint8_t b = *r->p++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = x;
            return true;
        }
    }
    return false;
}

/* The payload of a length-delimited field into *sub. */
static bool bytes(reader *r, reader *sub) {
    uint64_t n;
    if (!varint(r, &n) || n > (uint64_t)(r->end - r->p)) return false;
    sub->p = r->p;
    sub->end = r->p + n;
    r->p += n;
    return true;
}

/* Skips a field of the given wire type. */
static bool skip(reader *r, uint32_t wire) {
    uint64_t v;
    reader sub;
    switch (wire) {
    case 0: return varint(r, &v);
    case 1:
    case 5: {
        int64_t n = wire == 1 ? 8 : 4;
        if (r->end - r->p < n) return false;
        r->p += n;
        return true;
    }
    case 2: return bytes(r, &sub);
    default: return false; /* groups (3, 4) are not used by SentencePiece */
    }
}

static bool piece(reader r, fl_spm_piece *out) {
    *out = (fl_spm_piece){.text = "", .type = 1};
    while (r.p < r.end) {
        uint64_t key;
        if (!varint(&r, &key)) return false;
        uint32_t field = (uint32_t)(key >> 3), wire = (uint32_t)(key & 7);
        if (field == 1 && wire == 2) {
            reader s;
            if (!bytes(&r, &s) || s.end - s.p > UINT32_MAX) return false;
            out->text = (const char *)s.p;
            out->len = (uint32_t)(s.end - s.p);
        } else if (field == 2 && wire == 5) {
            if (r.end - r.p < 4) return false;
            uint32_t u = (uint32_t)r.p[0] | (uint32_t)r.p[1] << 8 | (uint32_t)r.p[2] << 16 | (uint32_t)r.p[3] << 24;
            memcpy(&out->score, &u, 4);
            r.p += 4;
        } else if (field == 3 && wire == 0) {
            uint64_t t;
            if (!varint(&r, &t)) return false;
            out->type = t <= 6 ? (int32_t)t : 1;
        } else if (!skip(&r, wire)) {
            return false;
        }
    }
    return true;
}

flint_status fl_spm_model_parse(const uint8_t *buf, size_t size, const char *path, fl_spm_piece **pieces, int64_t *n) {
    reader r = {buf, buf + size};
    fl_spm_piece *v = NULL;
    int64_t count = 0, cap = 0;
    *pieces = NULL;
    *n = 0;
    while (r.p < r.end) {
        uint64_t key;
        if (!varint(&r, &key)) goto bad;
        uint32_t field = (uint32_t)(key >> 3), wire = (uint32_t)(key & 7);
        if (field != 1 || wire != 2) {
            if (!skip(&r, wire)) goto bad;
            continue;
        }
        reader sub;
        if (!bytes(&r, &sub)) goto bad;
        if (count == cap) {
            cap = cap ? 2 * cap : 1024;
            fl_spm_piece *w = realloc(v, (size_t)cap * sizeof *w);
            if (!w) {
                free(v);
                return fl_errorf(FLINT_E_NOMEM, "%s: out of memory", path);
            }
            v = w;
        }
        if (!piece(sub, &v[count++])) goto bad;
    }
    *pieces = v;
    *n = count;
    return FLINT_OK;
bad:
    free(v);
    return fl_errorf(FLINT_E_FORMAT, "%s: not a SentencePiece model (a protobuf field runs past the end)", path);
}
