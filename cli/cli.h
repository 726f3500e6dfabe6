/*  cli.h: what the commands of bin/mesh share

    A command is a name, a one-line summary for `mesh --help` and a run
    function that gets its own arguments (argv [0] is the command's name).
    Each command lives in its own file, cli/cmd_<name>.c, describes its
    options with a mesh_options_t table and parses them with
    mesh_options_main, which answers --help and refuses bad arguments the
    same way for all (exit status CLI_EXIT_TROUBLE).
    Adding a command is a file and a line in mesh.c's table.

    Exit status, like grep's: 0 for yes (the event matches), 1 for no, 2 for
    anything that stopped the command from answering (bad arguments, an
    invalid pattern or event, an unreadable file). Answers go to stdout,
    errors to stderr.
*/
#ifndef CLI_H_INCLUDED
#define CLI_H_INCLUDED

#include <stdbool.h>
#include "mesh.h"

#define CLI_EXIT_YES      0
#define CLI_EXIT_NO       1
#define CLI_EXIT_TROUBLE  2

typedef struct {
    const char *name;
    const char *summary;        //  one line, for mesh --help
    int (*run) (int argc, char **argv);
} cli_command_t;

//  The commands (one file each).
extern const cli_command_t cli_test_pattern;
extern const cli_command_t cli_explain;
extern const cli_command_t cli_ping;
extern const cli_command_t cli_stats;
extern const cli_command_t cli_rules;
extern const cli_command_t cli_put;
extern const cli_command_t cli_tail;
extern const cli_command_t cli_reload;
extern const cli_command_t cli_monitor;
extern const cli_command_t cli_top;
extern const cli_command_t cli_tap;

//  What the commands that ask a running broker share: where its API is,
//  how long to wait, how to print. Their exit status: 0 when the broker
//  answered, 1 when it refused the request (its error on stderr), 2 when
//  it did not answer or the arguments are wrong.
typedef struct {
    const char *api;
    int timeout_ms;
    const char *output;         //  "text" or "json"
} cli_broker_t;

//  --api, --timeout and --output, a table to include (MESH_OPTION_TABLE);
//  the second prints json unless told otherwise.
extern const mesh_option_t cli_broker_options [];
extern const mesh_option_t cli_broker_options_json [];

//  Send request (a JSON object's text) to the broker and return its
//  reply when it says ok (caller decrefs; *status CLI_EXIT_YES). Otherwise NULL after printing
//  "mesh <command>: ..." with *status CLI_EXIT_NO (the broker's error,
//  its code and message) or CLI_EXIT_TROUBLE (no answer, a bad --output).
//  *round_trip_ms, when not NULL, is how long the answer took.
struct json_t;
struct json_t *
    cli_call (const char *command, const cli_broker_t *broker, const char *request, int *status,
              double *round_trip_ms);

//  The same on a connection the caller keeps (one request after another
//  on it), or a new one when kept is NULL.
struct json_t *
    cli_call_on (mesh_call_t *kept, const char *command, const cli_broker_t *broker, const char *request,
                 int *status, double *round_trip_ms);

//  For the commands that run until told: SIGINT and SIGTERM set
//  cli_stopped (which a command may also set itself, as mesh top's 'q').
#include <signal.h>
extern volatile sig_atomic_t cli_stopped;
void
    cli_stop_on_signals (void);

//  Print a reply as --output json prints it: the broker's map, indented.
void
    cli_print_json (struct json_t *reply);

//  Compact JSON text indented by two spaces a level, its values' text kept
//  as it is (jansson would print 242.58 as 242.58000000000001). Caller
//  frees; NULL if out of memory.
char *
    cli_json_indent (const char *text);

//  The text of a JSON argument (inline, @FILE or @- for stdin), or NULL
//  after printing "mesh <command>: <what>: <why>". Caller frees it.
char *
    cli_text (const char *command, const char *what, const char *arg, size_t *size);

#endif
