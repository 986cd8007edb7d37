/* page.h — the chat page `flint serve` answers at GET /: src/server/page.html,
 * built into the binary (page.c), so the server needs no files beside it. */
#ifndef FLINT_SERVER_PAGE_H
#define FLINT_SERVER_PAGE_H

#include <stddef.h>

/* The bytes of page.html, followed by a NUL that srv_page_html_len leaves out. */
extern const char srv_page_html[];
extern const size_t srv_page_html_len;

#endif
