/* http.c — the server's HTTP side on libmicrohttpd: binding, one thread per
 * connection, request bodies under a size limit, the bearer key, routing,
 * and the replies every route shares.
 *
 * A body over the limit is read off to its end and then answered 413, so
 * the client sees the answer instead of a reset connection; past
 * DISCARD_MAX the connection is answered at once and closed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <utf8proc.h>

#include "base/error.h"
#include "server/deadline.h"
#include "server/internal.h"

#define DISCARD_MAX ((size_t)256 << 20)

void srv_buf_add(srv_buf *b, const char *s, size_t n) {
    if (b->failed || !n) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

void srv_buf_free(srv_buf *b) {
    free(b->p);
    *b = (srv_buf){0};
}

/* ---- replies ---- */

srv_reply srv_text_reply(unsigned status, const char *type, const char *text, size_t len) {
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
    if (r) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    return (srv_reply){status, r};
}

srv_reply srv_json_reply(unsigned status, json_t *j) {
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) {
        static const char oom[] = "{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\",\"param\":null,"
                                  "\"code\":500}}";
        return srv_text_reply(500, "application/json", oom, sizeof oom - 1);
    }
    srv_reply r = srv_text_reply(status, "application/json", text, strlen(text));
    free(text);
    return r;
}

static const char *error_type(unsigned status) {
    switch (status) {
    case 401: return "authentication_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 503: return "unavailable_error";
    default: return status < 500 ? "invalid_request_error" : "server_error";
    }
}

json_t *srv_error_json(unsigned status, const char *param, const char *message) {
    json_t *m = srv_json_bytes(message, strlen(message));
    return json_pack("{s:{s:o,s:s,s:o,s:i}}", "error", "message", m, "type", error_type(status), "param",
                     param && *param ? json_string(param) : json_null(), "code", (int)status);
}

srv_reply srv_error_reply(unsigned status, const char *param, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return srv_json_reply(status, srv_error_json(status, param, msg));
}

json_t *srv_json_bytes(const char *s, size_t n) {
    json_t *j = json_stringn(s, n);
    if (j) return j;
    /* not UTF-8 (a token that is part of a character): each bad byte becomes U+FFFD */
    srv_buf b = {0};
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k > 0) srv_buf_add(&b, s + i, (size_t)k), i += (size_t)k;
        else srv_buf_add(&b, "\xEF\xBF\xBD", 3), i++;
    }
    j = json_stringn(b.p ? b.p : "", b.n);
    srv_buf_free(&b);
    return j;
}

flint_status srv_tokenize_text(const flint_tokenizer *tok, const char *text, size_t len, uint32_t flags,
                               int32_t **ids, size_t *n) {
    flint_status st = flint_tokenize(tok, text, len, flags, NULL, 0, n);
    if (st) return st;
    if (!(*ids = malloc((*n ? *n : 1) * sizeof **ids))) return FLINT_E_NOMEM;
    return flint_tokenize(tok, text, len, flags, *ids, *n, n);
}

json_t *srv_token_json(const flint_tokenizer *tok, int32_t id) {
    char piece[256];
    size_t n = 0;
    if (flint_detokenize(tok, &id, 1, FLINT_DETOKENIZE_SPECIAL, piece, sizeof piece, &n)) n = 0;
    if (n >= sizeof piece) n = sizeof piece - 1;
    return srv_json_bytes(piece, n);
}

void srv_random_id(char *out, size_t cap, const char *prefix) {
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char r[24];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        /* no entropy source: time and address still make ids unique enough to tell apart */
        uint64_t x = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)out;
        for (size_t i = 0; i < sizeof r; i++) x = x * 6364136223846793005ull + 1442695040888963407ull, r[i] = x >> 56;
    }
    size_t n = (size_t)snprintf(out, cap, "%s", prefix);
    for (size_t i = 0; i < sizeof r && n + 1 < cap; i++) out[n++] = abc[r[i] % 62];
    out[n < cap ? n : cap - 1] = 0;
}

int srv_client_gone(int fd) {
    if (fd < 0) return 0;
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* ---- one request on a connection ---- */

typedef struct conn_state {
    srv_buf body;
    int too_large;    /* the body is being read off; answer 413 at its end */
    size_t discarded;
} conn_state;

typedef srv_reply (*route_fn)(srv_call *c);

static const struct route {
    const char *method, *path;
    route_fn fn;
    int open;         /* answered without the API key */
    int needs_engine; /* 503 while the model loads */
} routes[] = {
    {"GET", "/", srv_page, 1, 0},
    {"GET", "/health", srv_health, 1, 0},
    {"GET", "/v1/models", srv_models, 0, 1},
    {"GET", "/metrics", srv_metrics, 0, 1},
    {"POST", "/tokenize", srv_tokenize, 0, 1},
    {"POST", "/detokenize", srv_detokenize, 0, 1},
    {"POST", "/v1/chat/completions", srv_chat_completions, 0, 1},
    {"POST", "/v1/completions", srv_completions, 0, 1},
};

/* Compares the whole presented key whatever its first difference, so the
 * time taken says nothing about how much of it was right. */
static int key_ok(const char *want, const char *header) {
    static const char bearer[] = "Bearer ";
    if (!header || strncmp(header, bearer, sizeof bearer - 1)) return 0;
    const char *got = header + sizeof bearer - 1;
    size_t nw = strlen(want), ng = strlen(got);
    unsigned diff = (unsigned)(nw ^ ng);
    for (size_t i = 0; i < ng; i++) diff |= (unsigned char)got[i] ^ (unsigned char)want[i % (nw ? nw : 1)];
    return diff == 0 && nw > 0;
}

static enum MHD_Result queue(struct MHD_Connection *conn, srv_reply r) {
    if (!r.response) return MHD_NO;
    enum MHD_Result ok = MHD_queue_response(conn, r.status, r.response);
    MHD_destroy_response(r.response);
    return ok;
}

static srv_reply route(srv *s, struct MHD_Connection *conn, const char *url, const char *method, conn_state *st) {
    const struct route *hit = NULL;
    int path_known = 0;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(routes[i].path, url)) continue;
        path_known = 1;
        if (!strcmp(routes[i].method, method)) hit = &routes[i];
    }
    if (!path_known) return srv_error_reply(404, NULL, "no route for %s %s", method, url);
    if (!hit) return srv_error_reply(405, NULL, "%s does not accept %s", url, method);
    if (s->api_key && !hit->open &&
        !key_ok(s->api_key, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION)))
        return srv_error_reply(401, NULL, "a valid API key is required: send \"Authorization: Bearer KEY\"");
    if (hit->needs_engine && !atomic_load(&s->engine)) return srv_error_reply(503, NULL, "the model is still loading");
    if (st->too_large)
        return srv_error_reply(413, NULL, "the request body is larger than the server's limit of %zu bytes",
                               s->opt.max_body);
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    srv_call c = {s, conn, st->body.p ? st->body.p : "", st->body.n, ci ? ci->connect_fd : -1};
    if (st->body.failed) return srv_error_reply(500, NULL, "out of memory reading the request body");
    return hit->fn(&c);
}

static void *socket_context(struct MHD_Connection *conn) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    (void)version;
    srv *s = cls;
    conn_state *st = *con_cls;
    if (!st) {
        if (!(st = calloc(1, sizeof *st))) return MHD_NO;
        *con_cls = st;
        atomic_fetch_add(&s->http_requests, 1);
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            char *end;
            errno = 0;
            unsigned long long n = strtoull(cl, &end, 10);
            if (errno || *end || n > s->opt.max_body) st->too_large = 1;
            if (st->too_large && (errno || n > DISCARD_MAX)) {
                /* too much to read off: answer now, the connection closes */
                srv_deadlines_received(s->deadlines, socket_context(conn));
                atomic_fetch_add(&s->outcomes[SRV_CLIENT_ERROR], 1);
                return queue(conn, srv_error_reply(413, NULL, "the request body is larger than the server's limit "
                                                   "of %zu bytes", s->opt.max_body));
            }
        }
        return MHD_YES;
    }
    if (*upload_size) {
        if (!st->too_large && st->body.n + *upload_size > s->opt.max_body) st->too_large = 1;
        if (st->too_large) {
            st->discarded += *upload_size;
            if (st->discarded > DISCARD_MAX) return MHD_NO;
        } else {
            srv_buf_add(&st->body, upload, *upload_size);
        }
        *upload_size = 0;
        return MHD_YES;
    }
    srv_deadlines_received(s->deadlines, socket_context(conn));
    srv_reply r = route(s, conn, url, method, st);
    if (r.status >= 400 && r.status < 500) atomic_fetch_add(&s->outcomes[SRV_CLIENT_ERROR], 1);
    if (r.status == 405) {
        /* say what the path accepts */
        for (size_t i = 0; i < sizeof routes / sizeof routes[0] && r.response; i++)
            if (!strcmp(routes[i].path, url)) MHD_add_response_header(r.response, MHD_HTTP_HEADER_ALLOW, routes[i].method);
    }
    return queue(conn, r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)toe;
    srv *s = cls;
    srv_deadlines_next(s->deadlines, socket_context(conn));
    conn_state *st = *con_cls;
    if (!st) return;
    srv_buf_free(&st->body);
    free(st);
    *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode what) {
    srv *s = cls;
    if (what == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_ctx = ci ? srv_deadlines_open(s->deadlines, ci->connect_fd) : NULL;
    } else {
        srv_deadlines_close(s->deadlines, *socket_ctx); /* MHD closes the socket after this */
        *socket_ctx = NULL;
    }
}

static void log_mhd(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    fprintf(stderr, "flint serve: http: ");
    vfprintf(stderr, fmt, ap);
}

flint_status srv_start(const srv_options *opt, srv **out) {
    *out = NULL;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_PASSIVE};
    struct addrinfo *ai = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", (int)opt->port);
    int gai = getaddrinfo(opt->host, port, &hints, &ai);
    if (gai) return fl_errorf(FLINT_E_INVALID_ARG, "--host %s: not a numeric IPv4 or IPv6 address (%s)", opt->host,
                              gai_strerror(gai));
    srv *s = calloc(1, sizeof *s);
    if (!s) {
        freeaddrinfo(ai);
        return fl_errorf(FLINT_E_NOMEM, "out of memory");
    }
    s->opt = *opt;
    s->started = (int64_t)time(NULL);
    s->api_key = opt->api_key ? strdup(opt->api_key) : NULL;
    s->model_name = strdup(opt->model_name ? opt->model_name : "flint");
    s->opt.api_key = s->api_key, s->opt.model_name = s->model_name;
    if ((opt->api_key && !s->api_key) || !s->model_name) {
        freeaddrinfo(ai);
        srv_stop(s);
        return fl_errorf(FLINT_E_NOMEM, "out of memory");
    }
    if (!(s->deadlines = srv_deadlines_start(opt->read_timeout_s, opt->idle_timeout_s))) {
        freeaddrinfo(ai);
        srv_stop(s);
        return fl_errorf(FLINT_E_NOMEM, "cannot start the server's watchdog thread");
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    s->mhd = MHD_start_daemon(flags, (uint16_t)opt->port, NULL, NULL, on_request, s,
                              MHD_OPTION_EXTERNAL_LOGGER, log_mhd, s, /* first, so that it sees every message */
                              MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)opt->idle_timeout_s,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)opt->max_connections,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                              MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
                              MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->mhd) {
        int err = errno;
        srv_stop(s);
        return fl_errorf(FLINT_E_IO, "cannot listen on %s port %d: %s", opt->host, (int)opt->port,
                         err ? strerror(err) : "libmicrohttpd could not start");
    }
    *out = s;
    return FLINT_OK;
}

void srv_set_engine(srv *s, flint_engine *engine) {
    s->template_name = flint_chat_template_name(flint_engine_tokenizer(engine));
    atomic_store(&s->engine, engine);
}

void srv_stop(srv *s) {
    if (!s) return;
    atomic_store(&s->stopping, 1);
    /* the connections' loops see `stopping`, cancel their requests and end */
    if (s->mhd) MHD_stop_daemon(s->mhd);
    srv_deadlines_stop(s->deadlines);
    free(s->api_key);
    free(s->model_name);
    free(s);
}
