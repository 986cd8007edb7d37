/* cli.h — the subcommands; each takes argv with argv[0] = its own name and
 * returns the process exit status (0 ok, 1 failure, 2 usage). */
#ifndef FL_CLI_H
#define FL_CLI_H

int cli_info(int argc, char **argv);
int cli_logits(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_chat(int argc, char **argv);
int cli_perplexity(int argc, char **argv);
int cli_bench(int argc, char **argv);
int cli_tokenize(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_pull(int argc, char **argv);
int cli_convert(int argc, char **argv);

#endif
