/* placement.h — which backend runs each decoder layer (-ngl-style layer
 * placement, flint_context_params.gpu_layers): the first first_device
 * layers on the host backend, the rest on the device backend, and the
 * output head on the device only when every layer is there (as llama.cpp
 * counts the output layer as the n_layer + 1-th). The embedding lookup and
 * what comes before layer 0 (Gemma 4's per-layer inputs) run on layer 0's
 * backend. One backend for everything: host == device, first_device 0.
 *
 * Memory: activations are the device backend's (host-visible when the
 * placement is split, so the host backend's ops read and write them too:
 * fl_lm_host_reads_scratch); a layer's K/V and recurrent
 * state live in its own backend's memory (cache/kv.h). Where consecutive
 * work changes backend, the forward syncs the one that ran before
 * (fl_place_switch), since the other reads what it wrote. */
#ifndef FL_BACKEND_PLACEMENT_H
#define FL_BACKEND_PLACEMENT_H

#include "backend/backend.h"

typedef struct fl_placement {
    fl_backend *host;     /* layers [0, first_device) */
    fl_backend *device;   /* layers [first_device, n_layer); its memory holds the activations */
    int32_t first_device; /* 0: every layer and the head on the device */
} fl_placement;

/* Everything on be. */
static inline fl_placement fl_place_one(fl_backend *be) { return (fl_placement){be, be, 0}; }

static inline fl_backend *fl_place_layer(const fl_placement *pl, int32_t l) {
    return l < pl->first_device ? pl->host : pl->device;
}
static inline fl_backend *fl_place_head(const fl_placement *pl) { return pl->first_device ? pl->host : pl->device; }
static inline bool fl_place_split(const fl_placement *pl) { return pl->host != pl->device; }

/* Work moves from backend `from` to `to`: from's ops complete first. */
static inline flint_status fl_place_switch(fl_backend *from, fl_backend *to) {
    return from != to ? fl_backend_sync(from) : FLINT_OK;
}

/* Both backends synced (the end of a step). */
static inline flint_status fl_place_sync(const fl_placement *pl) {
    flint_status st = fl_backend_sync(pl->device);
    flint_status host = fl_place_split(pl) ? fl_backend_sync(pl->host) : FLINT_OK;
    return st ? st : host;
}

#endif
