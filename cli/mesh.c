/*  mesh.c: bin/mesh, the mesh command line

    `mesh <command> [options]`: one command per entry of s_commands, each in
    its own file (cli/cmd_<name>.c, see cli.h). `mesh --help` lists them,
    `mesh <command> --help` and `mesh help <command>` explain one.
    test-pattern and explain work on patterns and events without a broker,
    so they answer the same on a laptop, in CI and on the broker's host;
    ping, stats, rules, put, reload, monitor, top and tap ask a running broker
    through its API (--api, cli.h's cli_call), and tail subscribes to its
    deliver endpoint as a target.
*/
#include <stdio.h>
#include <string.h>
#include "cli.h"

static const cli_command_t *const s_commands [] = {
    &cli_test_pattern,
    &cli_explain,
    &cli_ping,
    &cli_stats,
    &cli_rules,
    &cli_put,
    &cli_tail,
    &cli_reload,
    &cli_monitor,
    &cli_top,
    &cli_tap,
    NULL
};

static void
s_usage (FILE *out)
{
    fprintf (out,
        "Usage: mesh <command> [options]\n"
        "       mesh <command> --help\n"
        "\n"
        "Work with mesh's event patterns, and with a running broker through its API.\n"
        "\n"
        "Commands:\n");
    for (const cli_command_t *const *command = s_commands; *command; command++)
        fprintf (out, "  %-14s %s\n", (*command)->name, (*command)->summary);
    fprintf (out,
        "\n"
        "Exit status: 0 yes (matched; the broker answered), 1 no (did not match; the\n"
        "broker refused the request), 2 trouble (bad input; no broker answered).\n");
}

static const cli_command_t *
s_command (const char *name)
{
    for (const cli_command_t *const *command = s_commands; *command; command++)
        if (strcmp ((*command)->name, name) == 0)
            return *command;
    return NULL;
}

int
main (int argc, char **argv)
{
    if (argc < 2) {
        s_usage (stderr);
        return CLI_EXIT_TROUBLE;
    }
    const char *name = argv [1];
    if (strcmp (name, "--help") == 0 || strcmp (name, "-h") == 0) {
        s_usage (stdout);
        return CLI_EXIT_YES;
    }
    if (strcmp (name, "help") == 0) {
        if (argc < 3) {
            s_usage (stdout);
            return CLI_EXIT_YES;
        }
        const cli_command_t *command = s_command (argv [2]);
        if (!command) {
            fprintf (stderr, "mesh help: unknown command '%s' (see mesh --help)\n", argv [2]);
            return CLI_EXIT_TROUBLE;
        }
        char *help [] = { argv [2], "--help", NULL };
        return command->run (2, help);
    }
    const cli_command_t *command = s_command (name);
    if (!command) {
        fprintf (stderr, "mesh: unknown command '%s' (see mesh --help)\n", name);
        return CLI_EXIT_TROUBLE;
    }
    return command->run (argc - 1, argv + 1);
}
