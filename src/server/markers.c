/* markers.c — marker search over streaming text (markers.h). */
#include <string.h>

#include "server/markers.h"

srv_match srv_match_prefix(const char *s, size_t n, const char *lit) {
    size_t l = strlen(lit);
    if (n >= l) return memcmp(s, lit, l) ? SRV_MATCH_NONE : SRV_MATCH_FULL;
    return memcmp(s, lit, n) ? SRV_MATCH_NONE : SRV_MATCH_PARTIAL;
}

srv_match srv_find_marker(const char *s, size_t n, size_t from, const char *const *marks, int n_marks, bool final,
                          size_t *pos, int *which) {
    *which = -1;
    for (size_t i = from; n_marks > 0 && i < n;) {
        const char *lt = memchr(s + i, '<', n - i);
        if (!lt) break;
        i = (size_t)(lt - s);
        bool partial = false;
        for (int k = 0; k < n_marks; k++) {
            srv_match m = srv_match_prefix(s + i, n - i, marks[k]);
            if (m == SRV_MATCH_FULL) {
                *pos = i, *which = k;
                return SRV_MATCH_FULL;
            }
            partial |= m == SRV_MATCH_PARTIAL;
        }
        if (partial && !final) {
            *pos = i;
            return SRV_MATCH_PARTIAL;
        }
        i++;
    }
    *pos = n;
    return SRV_MATCH_NONE;
}
