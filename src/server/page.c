/* page.c — embeds src/server/page.html (see page.h). The assembler copies
 * the file in with .incbin, a path it resolves against its working
 * directory: the repository root, where every build runs (make BUILD=...
 * only moves the objects). The Makefile names page.html as a prerequisite
 * of this object, since -MMD cannot see a file the assembler reads. ELF
 * targets only (x86-64, aarch64), with gcc or clang. */
#include "server/page.h"

_Static_assert(sizeof(size_t) == 8, "srv_page_html_len is emitted as a .quad");

__asm__(".section .rodata\n"
        ".balign 16\n"
        ".globl srv_page_html\n"
        ".hidden srv_page_html\n"
        ".type srv_page_html, %object\n"
        "srv_page_html:\n"
        ".incbin \"src/server/page.html\"\n"
        ".Lsrv_page_html_end:\n"
        ".byte 0\n"
        ".size srv_page_html, . - srv_page_html\n"
        ".balign 8\n"
        ".globl srv_page_html_len\n"
        ".hidden srv_page_html_len\n"
        ".type srv_page_html_len, %object\n"
        "srv_page_html_len:\n"
        ".quad .Lsrv_page_html_end - srv_page_html\n"
        ".size srv_page_html_len, 8\n"
        ".previous\n");
