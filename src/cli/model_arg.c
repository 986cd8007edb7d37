/* model_arg.c — the -m argument resolved (see model_arg.h): an existing
 * path wins, so a local folder named like a repository still opens. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "cli/model_arg.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/file.h"
#include "cli/experts.h"
#include "hub/cache.h"

flint_status cli_model_path(const char *arg, char **path) {
    if (!fl_exists(arg) && fl_hub_is_ref(arg)) return fl_hub_resolve(arg, path);
    *path = strdup(arg);
    return *path ? FLINT_OK : fl_errorf(FLINT_E_NOMEM, "out of memory");
}

flint_status cli_model_open(const char *arg, const cli_experts_opts *experts, flint_model **m) {
    flint_model_params mp = {0};
    char *path;
    *m = NULL;
    const cli_experts_opts none = {0}, *x = experts ? experts : &none;
    flint_status s = x->cache ? cli_expert_cache_parse(x->cache, &mp.expert_cache) : FLINT_OK;
    if (s || (s = cli_model_path(arg, &path))) return s;
    s = flint_model_open(path, &mp, m);
    free(path);
    if (!s && x->histogram && fl_exists(x->histogram) && (s = flint_model_expert_histogram_load(*m, x->histogram))) {
        flint_model_close(*m);
        *m = NULL;
    }
    return s;
}
