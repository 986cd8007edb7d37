/* chat.c — a chat in the terminal on flint's public API: the engine keeps
 * the conversation's tokens between turns, so each turn computes only what
 * is new. Build: make (build/examples/chat). Run: chat MODEL.gguf */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flint.h"

#define MAX_MSGS 256

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL\n", argv[0]);
        return 2;
    }
    flint_model *model = NULL;
    flint_engine *engine = NULL;
    flint_engine_params params = {.n_slots = 1, .n_cache = 1};
    if (flint_model_open(argv[1], NULL, &model) || flint_engine_create(model, &params, &engine)) {
        fprintf(stderr, "chat: %s\n", flint_errmsg());
        flint_model_close(model);
        return 1;
    }
    flint_chat_message msgs[MAX_MSGS];
    char *owned[MAX_MSGS];
    int32_t n = 0;
    char line[4096];
    int rc = 0;
    while (n + 2 <= MAX_MSGS && fputs("> ", stderr) >= 0 && fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        if (!line[0]) continue;
        owned[n] = strdup(line);
        msgs[n] = (flint_chat_message){.role = "user", .content = owned[n]};
        n++;

        flint_request req = {.messages = msgs, .n_messages = n, .max_tokens = 256,
                             .sampling = {.temperature = 0.7f, .top_p = 0.95f, .seed = 1}};
        uint64_t id;
        if (flint_engine_submit(engine, &req, &id)) {
            fprintf(stderr, "chat: %s\n", flint_errmsg());
            rc = 1;
            break;
        }
        /* stream the reply, keeping it for the next turn */
        size_t len = 0;
        char *reply = calloc(1, 1);
        flint_event ev = {0};
        do {
            if (flint_engine_poll(engine, id, -1, &ev)) {
                ev = (flint_event){.finish = FLINT_FINISH_ERROR, .error_msg = flint_errmsg()};
                break;
            }
            fwrite(ev.text, 1, ev.len, stdout);
            fflush(stdout);
            char *grown = realloc(reply, len + ev.len + 1);
            if (!grown) break;
            reply = grown;
            memcpy(reply + len, ev.text, ev.len);
            reply[len += ev.len] = '\0';
        } while (!ev.finish);
        printf("\n");
        if (ev.finish == FLINT_FINISH_ERROR) {
            fprintf(stderr, "chat: %s\n", ev.error_msg);
            free(reply);
            rc = 1;
            break;
        }
        owned[n] = reply;
        msgs[n] = (flint_chat_message){.role = "assistant", .content = reply};
        n++;
    }
    while (n > 0) free(owned[--n]);
    flint_engine_free(engine);
    flint_model_close(model);
    return rc;
}
