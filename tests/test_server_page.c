/* test_server_page.c — the chat page built into flint (server/page.h): the
 * embedded bytes are src/server/page.html as it is on disk, byte for byte;
 * the page refers to nothing outside the server that serves it (every
 * src=, href=, action=, fetch(, @import and url( names a relative path),
 * declares a Content-Security-Policy that makes the browser enforce that,
 * and never parses a string as HTML (innerHTML and its relatives), the
 * rule that keeps model output from becoming markup. Its behaviour in a
 * browser is tests/server/test_chat_page.py's. */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <strings.h>

#include "base/file.h"
#include "harness.h"
#include "server/page.h"

#define PAGE_PATH "src/server/page.html"

/* Case-insensitive strstr over the page (which holds no NULs: checked). */
static const char *find(const char *from, const char *needle) {
    size_t n = strlen(needle);
    for (; *from; from++)
        if (!strncasecmp(from, needle, n)) return from;
    return NULL;
}

/* The value after a reference keyword: a quoted literal, or for an unquoted
 * HTML attribute the text up to a space or '>'. A name (fetch(url), a.href
 * = href) is no literal and gives an empty value. */
static size_t ref_value(const char *p, const char **value) {
    while (*p == ' ' || *p == '\t' || *p == '=' || *p == '(') p++;
    *value = p;
    if (*p == '"' || *p == '\'' || *p == '`') {
        const char *end = strchr(p + 1, *p);
        *value = p + 1;
        return end ? (size_t)(end - p - 1) : strlen(p + 1);
    }
    size_t n = 0;
    while (p[n] && !isspace((unsigned char)p[n]) && p[n] != '>' && p[n] != ')' && p[n] != ';') n++;
    return n;
}

static bool is_word_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* An absolute reference: a scheme ("https:", "javascript:"; "data:" is
 * allowed: it fetches nothing) or a network path ("//host"). */
static bool is_external(const char *v, size_t n) {
    if (n >= 2 && v[0] == '/' && v[1] == '/') return true;
    size_t i = 0;
    while (i < n && (isalnum((unsigned char)v[i]) || v[i] == '+' || v[i] == '-' || v[i] == '.')) i++;
    return i > 0 && i < n && v[i] == ':' && isalpha((unsigned char)v[0]) && !(i == 4 && !strncasecmp(v, "data", 4));
}

static void test_embedded_bytes(const char *file, uint64_t file_len) {
    TEST_GROUP("embedded bytes");
    CHECK_INT_EQ(srv_page_html_len, file_len);
    CHECK(srv_page_html_len == file_len && !memcmp(srv_page_html, file, file_len));
    CHECK_INT_EQ(srv_page_html[srv_page_html_len], 0);
    CHECK_INT_EQ(strlen(srv_page_html), srv_page_html_len); /* no NUL inside */
    CHECK(!strncmp(srv_page_html, "<!doctype html>", 15));
}

static void test_references(const char *page) {
    TEST_GROUP("only relative references");
    static const char *const keywords[] = {"src", "href", "action", "fetch(", "@import", "url("};
    int n_refs = 0;
    for (size_t k = 0; k < sizeof keywords / sizeof *keywords; k++) {
        for (const char *p = find(page, keywords[k]); p; p = find(p + 1, keywords[k])) {
            const char *kw = keywords[k], *after = p + strlen(kw), *value;
            /* whole words only: not "srcdoc", not webUrl( */
            if (isalpha((unsigned char)kw[0]) && p > page && is_word_char(p[-1])) continue;
            if (is_word_char(after[-1]) && is_word_char(*after)) continue;
            size_t n = ref_value(after, &value);
            n_refs++;
            CHECK_MSG(!is_external(value, n), "%s names %.*s", keywords[k], (int)n, value);
        }
    }
    CHECK_MSG(n_refs >= 4, "found %d references: the scan no longer sees the page's fetches", n_refs);
    const char *csp = find(page, "http-equiv=\"Content-Security-Policy\"");
    CHECK_MSG(csp != NULL, "no Content-Security-Policy");
    if (csp) {
        const char *end = strchr(csp, '>');
        const char *none = find(csp, "default-src 'none'"), *self = find(csp, "connect-src 'self'");
        CHECK_MSG(none && none < end, "the policy does not start from default-src 'none'");
        CHECK_MSG(self && self < end, "the policy does not limit connections to the page's own server");
    }
}

static void test_no_html_parsing(const char *page) {
    TEST_GROUP("no HTML from strings");
    static const char *const sinks[] = {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                                        "createContextualFragment", "DOMParser", "srcdoc", "eval("};
    for (size_t k = 0; k < sizeof sinks / sizeof *sinks; k++)
        CHECK_MSG(find(page, sinks[k]) == NULL, "the page uses %s", sinks[k]);
    CHECK_MSG(find(page, "textContent") != NULL, "the page sets no textContent: is this the chat page?");
}

int main(void) {
    char *file = NULL;
    uint64_t len = 0;
    flint_status st = fl_read_file(PAGE_PATH, 1 << 20, &file, &len);
    CHECK_MSG(st == FLINT_OK, "%s: %s", PAGE_PATH, flint_errmsg());
    if (st == FLINT_OK) {
        test_embedded_bytes(file, len);
        test_references(srv_page_html);
        test_no_html_parsing(srv_page_html);
    }
    free(file);
    return test_finish("test_server_page");
}
