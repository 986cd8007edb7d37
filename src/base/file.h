/* file.h — read-only memory-mapped files. Weights are used in place from
 * the mapping; nothing is copied at open. */
#ifndef FL_BASE_FILE_H
#define FL_BASE_FILE_H

#include <stdbool.h>
#include <stdint.h>

#include "flint.h"

typedef struct fl_map {
    const uint8_t *data; /* NULL for an empty file */
    uint64_t size;
    char *path;          /* owned copy, used in error messages */
} fl_map;

flint_status fl_map_open(fl_map *map, const char *path);
void fl_map_close(fl_map *map);

/* Reads a whole (small) file into a NUL-terminated heap buffer, refusing
 * files larger than max_size. */
flint_status fl_read_file(const char *path, uint64_t max_size, char **out, uint64_t *len);

bool fl_is_dir(const char *path);
bool fl_exists(const char *path);
/* Joins dir and name with '/' into a new heap string (NULL on OOM). */
char *fl_path_join(const char *dir, const char *name);

#endif
