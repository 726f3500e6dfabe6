/*  cli.c: the pieces every command of bin/mesh shares (cli.h)  */
#include <stdio.h>
#include <stdlib.h>
#include "cli.h"

bool
cli_options (const mesh_options_t *spec, int argc, char **argv, void *settings, int *status)
{
    mesh_error_t err = { 0 };
    int rc = mesh_options_parse (spec, argc, argv, settings, &err);
    if (rc == MESH_OPTIONS_HELP) {
        char *help = mesh_options_help (spec);
        printf ("%s", help? help: "");
        free (help);
        *status = CLI_EXIT_YES;
        return true;
    }
    if (rc) {
        fprintf (stderr, "%s: %s\n", spec->program, err.text);
        *status = CLI_EXIT_TROUBLE;
        return true;
    }
    return false;
}

char *
cli_text (const char *command, const char *what, const char *arg, size_t *size)
{
    mesh_error_t err = { 0 };
    char *text = mesh_options_text (arg, size, &err);
    if (!text)
        fprintf (stderr, "mesh %s: %s: %s\n", command, what, err.text);
    return text;
}
