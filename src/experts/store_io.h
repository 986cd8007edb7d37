/* store_io.h — reading an expert's byte ranges from its file into a cache
 * slot: O_DIRECT where the file opened with it (the aligned superset of
 * the range into the aligned place, the view inside it), buffered pread
 * otherwise or once the kernel refused a direct read. Short reads and
 * EINTR are retried; an error or the end of the file inside the range is
 * reported with the file, the offset and the size. */
#ifndef FL_EXPERTS_STORE_IO_H
#define FL_EXPERTS_STORE_IO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "experts/experts.h"

#define FL_IO_ALIGN 4096 /* O_DIRECT offsets, lengths and buffers */

typedef struct fl_io_file {
    char *path;
    int fd_buffered, fd_direct; /* fd_direct -1: none */
    atomic_bool direct;         /* still trying O_DIRECT */
} fl_io_file;

typedef struct fl_io_counts {
    uint64_t bytes, direct, buffered; /* bytes read (aligned supersets included); reads of each kind */
} fl_io_counts;

flint_status fl_io_file_open(fl_io_file *f, const char *path, bool try_direct);
void fl_io_file_close(fl_io_file *f);
bool fl_io_file_direct(const fl_io_file *f);

/* Room a range of size bytes needs in a slot, wherever it starts. */
uint64_t fl_io_span(uint64_t size);

/* Reads range r into dst (FL_IO_ALIGN-aligned, fl_io_span(r->size) bytes);
 * *base gets where r's first byte landed. */
flint_status fl_io_read_range(fl_io_file *f, const fl_expert_range *r, uint8_t *dst, const uint8_t **base,
                              fl_io_counts *c);

#endif
