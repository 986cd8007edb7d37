/* store_io.c — expert ranges from disk into cache slots (see store_io.h). */
#define _GNU_SOURCE /* O_DIRECT */
#include "experts/store_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "experts/store.h"

static fl_store_read_fn read_fn = pread;
void fl_store_set_read_fn(fl_store_read_fn fn) { read_fn = fn ? fn : pread; }

flint_status fl_io_file_open(fl_io_file *f, const char *path, bool try_direct) {
    *f = (fl_io_file){.fd_buffered = -1, .fd_direct = -1};
    if (!(f->path = malloc(strlen(path) + 1))) return fl_errorf(FLINT_E_NOMEM, "out of memory");
    strcpy(f->path, path);
    if ((f->fd_buffered = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return fl_errorf(FLINT_E_IO, "%s: cannot open for expert reads: %s", path, strerror(errno));
    /* file systems without O_DIRECT (tmpfs) refuse it here */
    if (try_direct) f->fd_direct = open(path, O_RDONLY | O_CLOEXEC | O_DIRECT);
    atomic_init(&f->direct, f->fd_direct >= 0);
    return FLINT_OK;
}

void fl_io_file_close(fl_io_file *f) {
    if (f->fd_buffered >= 0) close(f->fd_buffered);
    if (f->fd_direct >= 0) close(f->fd_direct);
    free(f->path);
    *f = (fl_io_file){.fd_buffered = -1, .fd_direct = -1};
}

bool fl_io_file_direct(const fl_io_file *f) { return atomic_load(&f->direct); }

static uint64_t align_up(uint64_t x) { return (x + FL_IO_ALIGN - 1) & ~(uint64_t)(FL_IO_ALIGN - 1); }

uint64_t fl_io_span(uint64_t size) { return align_up(size) + FL_IO_ALIGN; }

/* Reads up to len bytes at off, retrying EINTR and short reads, stopping at
 * the end of the file; *got: the bytes read. 0 or an errno. */
static int read_all(int fd, uint8_t *buf, uint64_t len, uint64_t off, uint64_t *got) {
    for (*got = 0; *got < len;) {
        ssize_t n = read_fn(fd, buf + *got, (size_t)(len - *got), (off_t)(off + *got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno ? errno : EIO;
        if (n == 0) break;
        *got += (uint64_t)n;
    }
    return 0;
}

static flint_status short_file(const fl_io_file *f, const fl_expert_range *r, uint64_t end) {
    return fl_errorf(FLINT_E_FORMAT, "%s: the file ends at %llu, inside the expert bytes %llu..%llu", f->path,
                     (unsigned long long)end, (unsigned long long)r->offset, (unsigned long long)(r->offset + r->size));
}

flint_status fl_io_read_range(fl_io_file *f, const fl_expert_range *r, uint8_t *dst, const uint8_t **base,
                              fl_io_counts *c) {
    uint64_t got;
    int err;
    if (atomic_load(&f->direct)) {
        const uint64_t a0 = r->offset & ~(uint64_t)(FL_IO_ALIGN - 1), need = r->offset + r->size - a0;
        err = read_all(f->fd_direct, dst, align_up(r->offset + r->size) - a0, a0, &got);
        if (!err) {
            if (got < need) return short_file(f, r, a0 + got);
            c->bytes += got, c->direct++;
            *base = dst + (r->offset - a0);
            return FLINT_OK;
        }
        if (err != EINVAL) goto fail;
        atomic_store(&f->direct, false); /* refused for this file: buffered from now on */
    }
    if ((err = read_all(f->fd_buffered, dst, r->size, r->offset, &got))) goto fail;
    if (got < r->size) return short_file(f, r, r->offset + got);
    c->bytes += got, c->buffered++;
    *base = dst;
    return FLINT_OK;
fail:
    return fl_errorf(FLINT_E_IO, "%s: reading %llu expert bytes at %llu: %s", f->path, (unsigned long long)r->size,
                     (unsigned long long)r->offset, strerror(err));
}
