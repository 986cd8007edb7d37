/* internal.h — what the server's files share: the server's state, a
 * growable text buffer, and the JSON replies every endpoint uses. */
#ifndef FLINT_SERVER_INTERNAL_H
#define FLINT_SERVER_INTERNAL_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "flint.h"
#include "server/server.h"

/* outcomes the metrics count */
enum { SRV_OK, SRV_CLIENT_ERROR, SRV_REJECTED, SRV_CANCELLED, SRV_FAILED, SRV_N_OUTCOMES };

struct srv {
    srv_options opt;
    char *api_key;                 /* a copy */
    char *model_name;
    struct MHD_Daemon *mhd;
    struct srv_deadlines *deadlines; /* --read-timeout's watchdog */
    _Atomic(flint_engine *) engine; /* NULL while loading */
    const char *template_name;     /* flint_chat_template_name, set with the engine */
    atomic_int stopping;           /* srv_stop was called: streams end */
    int64_t started;               /* unix time, for "created" */
    atomic_llong outcomes[SRV_N_OUTCOMES];
    atomic_llong http_requests;
};

/* A reply ready to queue: status and an MHD response (owned). */
typedef struct srv_reply {
    unsigned status;
    struct MHD_Response *response;
} srv_reply;

/* What a route handler sees of an HTTP request. */
typedef struct srv_call {
    srv *s;
    struct MHD_Connection *conn;
    const char *body;
    size_t len;
    int fd;                         /* the client's socket, to notice it leave */
} srv_call;

/* ---- a growable byte buffer; on allocation failure it stays as it was
 * and failed is set ---- */
typedef struct srv_buf {
    char *p;
    size_t n, cap;
    int failed;
} srv_buf;
void srv_buf_add(srv_buf *b, const char *s, size_t n);
void srv_buf_free(srv_buf *b);

/* ---- replies ---- */
/* A JSON body (steals the reference to j; NULL j is a 500). */
srv_reply srv_json_reply(unsigned status, json_t *j);
/* OpenAI's error shape: {"error": {"message", "type", "param", "code"}}.
 * param may be NULL or "". */
srv_reply srv_error_reply(unsigned status, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
json_t *srv_error_json(unsigned status, const char *param, const char *message);
srv_reply srv_text_reply(unsigned status, const char *type, const char *text, size_t len);
/* A JSON string from bytes that may not be UTF-8 (bad bytes become U+FFFD). */
json_t *srv_json_bytes(const char *s, size_t n);
/* Tokenizes text[0..len) into *ids, malloc'ed (the caller frees it, also on error). */
flint_status srv_tokenize_text(const flint_tokenizer *tok, const char *text, size_t len, uint32_t flags,
                               int32_t **ids, size_t *n);
/* Token id's text, control tokens included, as a JSON string (cut at 255 bytes). */
json_t *srv_token_json(const flint_tokenizer *tok, int32_t id);
/* "chatcmpl-" + 24 random alphanumerics, etc.; prefix + 24 chars fit in cap. */
void srv_random_id(char *out, size_t cap, const char *prefix);
/* Nonzero when the client has closed its end of the connection. */
int srv_client_gone(int fd);

/* ---- routes ---- */
srv_reply srv_health(srv_call *c);
srv_reply srv_models(srv_call *c);
srv_reply srv_metrics(srv_call *c);
srv_reply srv_tokenize(srv_call *c);
srv_reply srv_detokenize(srv_call *c);
srv_reply srv_page(srv_call *c);
srv_reply srv_chat_completions(srv_call *c);
srv_reply srv_completions(srv_call *c);

#endif
