/*  cli.c: the pieces every command of bin/mesh shares (cli.h)  */
#include <stdio.h>
#include <stdlib.h>
#include "cli.h"

char *
cli_text (const char *command, const char *what, const char *arg, size_t *size)
{
    mesh_error_t err = { 0 };
    char *text = mesh_options_text (arg, size, &err);
    if (!text)
        fprintf (stderr, "mesh %s: %s: %s\n", command, what, err.text);
    return text;
}
