/*  mesh_options.h: the command line of every mesh binary, from one table

    A program describes its options once, in a table: the long name, an
    optional short one, the environment variable, the type and bounds, the
    default, the help line and where the value goes (an offset into the
    program's settings struct). mesh_options_parse reads argv, then the
    environment, then the defaults, in that order of precedence, checks
    every value against its type and bounds, and refuses unknown options
    with a did-you-mean. mesh_options_help writes --help from the same
    table, so the help cannot drift from what the program does.

        typedef struct { const char *ingest; int sndhwm; bool verbose; } settings_t;
        static const mesh_option_t s_table [] = {
            { "ingest", 0, "MESH_INGEST", MESH_OPTION_STRING, 0, 0, MESH_INGEST_DEFAULT,
              "EP", "endpoint publishers connect to", offsetof (settings_t, ingest) },
            { "sndhwm", 0, "MESH_SNDHWM", MESH_OPTION_INT, 1, 10000000, "10000",
              "N", "messages buffered per subscriber", offsetof (settings_t, sndhwm) },
            { "verbose", 'v', NULL, MESH_OPTION_BOOL, 0, 0, NULL,
              NULL, "log every routing decision", offsetof (settings_t, verbose) },
            { NULL }
        };
        static const mesh_options_t s_spec = { "mesh-broker", "usage: mesh-broker [options]",
                                               "What it does.", NULL, s_table };
        settings_t settings = { 0 };
        int rc = mesh_options_parse (&s_spec, argc, argv, &settings, &err);

    A table can include another (MESH_OPTION_TABLE): the tables of
    mesh_flags.h let the broker, the command line and the services share
    their common options. Like all of libmesh, nothing here prints on its
    own: errors come back in err, the help as a string, and
    mesh_options_main writes them to the streams its caller hands it.
*/
#ifndef MESH_OPTIONS_H_INCLUDED
#define MESH_OPTIONS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "mesh_error.h"

#ifdef __cplusplus
extern "C" {
#endif

//  What an option holds, and the C type at its offset.
typedef enum {
    MESH_OPTION_STRING = 1,     //  const char *: borrowed from argv, the environment or the table
    MESH_OPTION_INT,            //  int, within [min, max]
    MESH_OPTION_SIZE,           //  size_t, within [min, max]
    MESH_OPTION_INT64,          //  int64_t, within [min, max]
    MESH_OPTION_DOUBLE,         //  double, within [min, max]
    MESH_OPTION_BOOL,           //  bool: a flag that takes no value, true when given
    MESH_OPTION_LIST,           //  mesh_option_list_t: a repeatable string
    MESH_OPTION_TABLE,          //  another table (include), its settings at offset
    MESH_OPTION_FILE            //  const char *: a settings file, a JSON object whose keys
                                //  are the other options' long names (below)
} mesh_option_type_t;

//  One option. A NULL name ends a table. min and max bound the numbers
//  (both 0: no bounds; max INFINITY: no upper bound). fallback is the
//  default as text, parsed like a value; NULL leaves the settings field as
//  the caller initialised it (how a program tells "not given").
typedef struct _mesh_option_t mesh_option_t;
struct _mesh_option_t {
    const char *name;           //  long name without "--", e.g. "sndhwm"
    char short_name;            //  'c' for -c, or 0
    const char *env;            //  environment variable, or NULL
    mesh_option_type_t type;
    double min, max;
    const char *fallback;
    const char *value_name;     //  for --help, e.g. "BYTES"
    const char *help;           //  one line for --help
    size_t offset;              //  of the value in the settings struct
    const mesh_option_t *table; //  MESH_OPTION_TABLE: the included table
};

//  The values of a MESH_OPTION_LIST: each --name VALUE appends one; with
//  none, the environment variable or the default gives one.
#define MESH_OPTION_LIST_MAX 64
typedef struct {
    const char *items [MESH_OPTION_LIST_MAX];
    size_t count;
} mesh_option_list_t;

//  A program's (or a command's) command line.
typedef struct {
    const char *program;        //  for messages: "mesh-broker", "mesh test-pattern"
    const char *usage;          //  the first lines of --help
    const char *about;          //  what the program does, after the usage (or NULL)
    const char *epilog;         //  after the options: exit status, examples (or NULL)
    const mesh_option_t *options;
} mesh_options_t;

//  A settings file (MESH_OPTION_FILE, at most one in a table): given by its
//  flag or its environment variable, it is read after the command line,
//  and its values come between the environment's and the defaults: a
//  flag, else its variable, else the file, else the default. The file is
//  one JSON object, {"ingest": "tcp://127.0.0.1:5600", "max-event-size":
//  1048576, "verbose": true, "config": ["config/"]}: a key is an option's
//  long name; a value is a string, a number, true or false, or for a
//  repeatable option an array of strings; any other key is refused with
//  the one it resembles, any other type with what was expected, and a
//  syntax error with its line and column. The values a file gives are kept
//  until the process exits (settings borrow them).

//  mesh_options_parse's answer when -h or --help was given.
#define MESH_OPTIONS_HELP 1

//  Parse argv [1..argc-1] (argv [0] is the program or command name), then
//  the environment, then the defaults, into settings. --name VALUE,
//  --name=VALUE and -x VALUE are understood, and -- ends the options.
//  Returns 0; MESH_OPTIONS_HELP when -h or --help was given (settings are
//  then incomplete); or -1 with MESH_EINVAL and one line in err, such as
//  `--sndhwm: expected an integer from 1 to 10000000, got 'x'` or
//  `unknown argument '--sndhmw' (did you mean --sndhwm?)`. The strings
//  stored are borrowed from argv, the environment and the table.
int
    mesh_options_parse (const mesh_options_t *self, int argc, char *const *argv, void *settings,
                        mesh_error_t *err);

//  The front of a program's main, for the programs that want the usual
//  answers: parse; on --help write the help to out and return 0; on a bad
//  argument write "<program>: <what is wrong>" to errors and return
//  failure (the program's exit status for bad usage); else return -1: go
//  on. libmesh writes only to the streams it is given.
int
    mesh_options_main (const mesh_options_t *self, int argc, char *const *argv, void *settings,
                       FILE *out, FILE *errors, int failure);

//  The --help text of the spec, generated from its table: usage, about,
//  each option with its value name, help line, environment variable, bounds
//  and default, then the epilog. Caller frees it; NULL when out of memory.
char *
    mesh_options_help (const mesh_options_t *self);

//  The text of an argument given inline or as @FILE (@- reads standard
//  input), for options that take JSON. Returns a NUL-terminated malloc'd
//  copy and its size, or NULL with err (`cannot open 'x.json': No such file
//  or directory`).
char *
    mesh_options_text (const char *arg, size_t *size, mesh_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
