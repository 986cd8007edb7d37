/* deadline.h — the time a client has to send a whole request (see deadline.c). */
#ifndef FLINT_SERVER_DEADLINE_H
#define FLINT_SERVER_DEADLINE_H

#include <stdint.h>

typedef struct srv_deadlines srv_deadlines;

/* Starts the watchdog: limit_s per request, plus keepalive_s of silence
 * allowed before a kept-alive connection's next one. NULL when out of
 * memory or threads. */
srv_deadlines *srv_deadlines_start(int32_t limit_s, int32_t keepalive_s);
void srv_deadlines_stop(srv_deadlines *d);
/* A connection on socket fd opened: its first request's clock starts. The
 * handle (NULL when out of memory: no deadline) goes to the calls below. */
void *srv_deadlines_open(srv_deadlines *d, int fd);
/* Its request arrived whole: no deadline while it is answered. */
void srv_deadlines_received(srv_deadlines *d, void *conn);
/* Its reply was sent: the next request's clock starts keepalive_s from now. */
void srv_deadlines_next(srv_deadlines *d, void *conn);
/* It closed; must come before its socket is closed. */
void srv_deadlines_close(srv_deadlines *d, void *conn);

#endif
