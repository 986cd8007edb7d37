/* deadline.c — a client must send each whole request (headers and body)
 * within --read-timeout seconds.
 *
 * libmicrohttpd's own timeout closes a connection only when it is silent;
 * a slowloris client that sends one byte every few seconds never is, and
 * would hold its connection (and thread) for hours. A watchdog thread
 * shuts down the socket of any connection whose request is overdue; the
 * connection's own thread then sees the end of the stream and closes it.
 * While a request is answered (a long stream) it has no deadline; after
 * it, the connection may stay silent for the idle timeout before the next
 * request's clock starts. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "base/clock.h"
#include "server/deadline.h"

typedef struct entry {
    int fd;
    double since;  /* when the request being read began; < 0: none is being read */
    struct entry *prev, *next;
} entry;

struct srv_deadlines {
    double limit_s, keepalive_s;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    int stopping;
    entry *head;
    pthread_t thread;
};

static void *watch(void *arg) {
    srv_deadlines *d = arg;
    pthread_mutex_lock(&d->mu);
    while (!d->stopping) {
        double now = fl_now_seconds();
        for (entry *e = d->head; e; e = e->next) {
            if (e->since < 0 || now - e->since <= d->limit_s) continue;
            /* the fd is open: a connection leaves the list (under the lock) before its socket is closed */
            shutdown(e->fd, SHUT_RDWR);
            e->since = -1;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 500 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000) until.tv_sec++, until.tv_nsec -= 1000000000;
        pthread_cond_timedwait(&d->wake, &d->mu, &until);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

srv_deadlines *srv_deadlines_start(int32_t limit_s, int32_t keepalive_s) {
    srv_deadlines *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->limit_s = limit_s, d->keepalive_s = keepalive_s;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->wake, NULL);
    if (pthread_create(&d->thread, NULL, watch, d)) {
        pthread_cond_destroy(&d->wake);
        pthread_mutex_destroy(&d->mu);
        free(d);
        return NULL;
    }
    return d;
}

void srv_deadlines_stop(srv_deadlines *d) {
    if (!d) return;
    pthread_mutex_lock(&d->mu);
    d->stopping = 1;
    pthread_cond_signal(&d->wake);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->thread, NULL);
    while (d->head) {
        entry *e = d->head;
        d->head = e->next;
        free(e);
    }
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

void *srv_deadlines_open(srv_deadlines *d, int fd) {
    entry *e = calloc(1, sizeof *e);
    if (!e) return NULL; /* no deadline for this one: the idle timeout still holds */
    e->fd = fd, e->since = fl_now_seconds();
    pthread_mutex_lock(&d->mu);
    e->next = d->head;
    if (d->head) d->head->prev = e;
    d->head = e;
    pthread_mutex_unlock(&d->mu);
    return e;
}

static void set_since(srv_deadlines *d, void *conn, double since) {
    if (!conn) return;
    pthread_mutex_lock(&d->mu);
    ((entry *)conn)->since = since;
    pthread_mutex_unlock(&d->mu);
}

void srv_deadlines_received(srv_deadlines *d, void *conn) { set_since(d, conn, -1); }

/* a kept-alive connection may wait keepalive_s before its next request begins */
void srv_deadlines_next(srv_deadlines *d, void *conn) { set_since(d, conn, fl_now_seconds() + d->keepalive_s); }

void srv_deadlines_close(srv_deadlines *d, void *conn) {
    entry *e = conn;
    if (!e) return;
    pthread_mutex_lock(&d->mu);
    if (e->prev) e->prev->next = e->next;
    else d->head = e->next;
    if (e->next) e->next->prev = e->prev;
    pthread_mutex_unlock(&d->mu);
    free(e);
}
