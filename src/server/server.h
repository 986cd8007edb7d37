/* server.h — the OpenAI-compatible HTTP server `flint serve` runs
 *
 * HTTP on libmicrohttpd, one thread per connection: a connection that
 * blocks (a slow client, a long generation) holds only its own thread.
 * Requests become engine requests; the engine batches them. The server
 * listens before the model is loaded: /health answers 503 until
 * srv_set_engine. */
#ifndef FLINT_SERVER_SERVER_H
#define FLINT_SERVER_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "flint.h"

typedef struct srv_options {
    const char *host;          /* address to bind: "127.0.0.1", "0.0.0.0", "::1" */
    int32_t port;
    const char *api_key;       /* NULL: no authentication */
    const char *model_name;    /* the id /v1/models lists and replies carry */
    int32_t timeout_s;         /* a request running longer is cancelled; 0: none */
    int32_t idle_timeout_s;    /* a connection silent this long is closed */
    int32_t read_timeout_s;    /* a request (headers and body) must arrive whole within this */
    size_t max_body;           /* bytes of a request body */
    int32_t max_messages;      /* messages per chat request */
    int32_t max_connections;
} srv_options;

typedef struct srv srv;

/* Binds and starts serving (health 503 until an engine is set). */
flint_status srv_start(const srv_options *opt, srv **out);
/* Makes the server answer with engine (which must outlive the server). */
void srv_set_engine(srv *s, flint_engine *engine);
/* Cancels what runs, lets every stream end, closes the listener and every
 * connection, frees the server. */
void srv_stop(srv *s);

#endif
