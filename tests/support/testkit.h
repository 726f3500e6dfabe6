/*  testkit.h: what the integration tests need to run real processes

    Start the project's binaries as separate processes with their output in
    files of a private temporary directory, wait for lines to appear in
    those files, stop them, and read what they wrote. Loopback only: the
    broker binds tcp://127.0.0.1:* and reports its ports in a file, so no
    two tests (or two runs) can collide.
*/
#ifndef TESTKIT_H_INCLUDED
#define TESTKIT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;
    char name [64];
    char out [512];             //  stdout file
    char err [512];             //  stderr file
    int status;                 //  exit status once waited, -1 before
} tk_proc_t;

//  A new private directory under $TMPDIR (or /tmp); caller frees the string.
char *
    tk_tempdir (void);

//  Remove the directory and what is in it.
void
    tk_tempdir_remove (char **dir_p);

//  Path of a project binary: $MESH_BIN/name, else bin/name. Static buffer.
const char *
    tk_bin (const char *name);

//  Start argv (argv[0] a path) with stdout and stderr in dir/name.out and
//  dir/name.err, and stdin from stdin_path (NULL: /dev/null). Returns 0.
int
    tk_start (tk_proc_t *proc, const char *dir, const char *name, char *const argv [],
              const char *stdin_path);

//  Wait for the process to exit, up to timeout_ms; returns its exit status,
//  or -1 on timeout (the process is then killed) or death by signal.
int
    tk_wait (tk_proc_t *proc, int timeout_ms);

//  Send SIGTERM and wait up to 5 s (SIGKILL after); returns the exit status.
int
    tk_stop (tk_proc_t *proc);

//  Read a whole file; caller frees. NULL if it cannot be read.
char *
    tk_read (const char *path);

//  Write text to a file.
void
    tk_write (const char *path, const char *text);

//  Wait until the file contains needle, up to timeout_ms. True if it does.
bool
    tk_wait_for (const char *path, const char *needle, int timeout_ms);

//  Lines of the file that contain needle.
size_t
    tk_count (const char *path, const char *needle);

//  Wait until the file holds at least count lines containing needle, or
//  until the count has not moved for stall_ms. Returns the last count.
size_t
    tk_wait_count (const char *path, const char *needle, size_t count, int stall_ms);

//  A small deterministic random generator (xorshift64*) for the generated
//  tests: the same seed gives the same run. state must not be 0.
uint64_t
    tk_random (uint64_t *state);

//  A number from 0 to n - 1.
int
    tk_pick (uint64_t *state, int n);

//  A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, close).
int
    tk_free_port (void);

//  Start a broker on ephemeral loopback ports with the given config and extra
//  arguments (NULL-terminated), and wait for its deliver endpoint. Fills
//  deliver; ingest is filled by tk_broker_ingest once it opens.
int
    tk_broker_start (tk_proc_t *proc, const char *dir, const char *config, char *deliver,
                     const char *const *extra);

//  Wait for the broker's ingest endpoint (it opens once routed targets are
//  subscribed or the start-up grace is over). Returns 0 and fills ingest.
int
    tk_broker_ingest (const char *dir, char *ingest, int timeout_ms);

//  One endpoint the broker wrote to dir/endpoints ("ingest", "deliver",
//  "api") into value (room for 256 bytes). True if it is there.
bool
    tk_broker_endpoint (const char *dir, const char *key, char *value);

//  A value of the broker's final stats line ("received=12"): -1 if absent.
long long
    tk_stat (const char *err_path, const char *key);

#endif
