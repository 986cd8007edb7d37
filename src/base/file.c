/* file.c — mmap'ed model files and small whole-file reads. */
#define _POSIX_C_SOURCE 200809L
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"

flint_status fl_map_open(fl_map *map, const char *path) {
    memset(map, 0, sizeof *map);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fl_errorf(FLINT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return fl_errorf(FLINT_E_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return fl_errorf(FLINT_E_IO, "%s: not a regular file", path);
    }
    map->size = (uint64_t)st.st_size;
    if (map->size > 0) {
        void *p = mmap(NULL, (size_t)map->size, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            return fl_errorf(FLINT_E_IO, "%s: cannot mmap %llu bytes: %s", path,
                             (unsigned long long)map->size, strerror(e));
        }
        map->data = p;
    }
    close(fd); /* the mapping keeps the file alive */
    map->path = strdup(path);
    if (!map->path) {
        fl_map_close(map);
        return fl_errorf(FLINT_E_NOMEM, "%s: out of memory", path);
    }
    return FLINT_OK;
}

void fl_map_close(fl_map *map) {
    if (map->data) munmap((void *)map->data, (size_t)map->size);
    free(map->path);
    memset(map, 0, sizeof *map);
}

flint_status fl_read_file(const char *path, uint64_t max_size, char **out, uint64_t *len) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return fl_errorf(FLINT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return fl_errorf(FLINT_E_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > max_size) {
        fclose(f);
        return fl_errorf(FLINT_E_FORMAT, "%s: %llu bytes, more than the %llu allowed", path,
                         (unsigned long long)st.st_size, (unsigned long long)max_size);
    }
    size_t n = (size_t)st.st_size;
    char *buf = malloc(n + 1);
    if (!buf) {
        fclose(f);
        return fl_errorf(FLINT_E_NOMEM, "%s: out of memory", path);
    }
    size_t got = fread(buf, 1, n, f);
    fclose(f);
    if (got != n) {
        free(buf);
        return fl_errorf(FLINT_E_IO, "%s: short read (%zu of %zu bytes)", path, got, n);
    }
    buf[n] = '\0';
    *out = buf;
    if (len) *len = n;
    return FLINT_OK;
}

bool fl_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool fl_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

char *fl_path_join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    size_t k = a;
    if (a > 0 && dir[a - 1] != '/') p[k++] = '/';
    memcpy(p + k, name, b + 1);
    return p;
}
