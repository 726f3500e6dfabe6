/*  testkit.c: processes, files and ports for the integration tests  */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "testkit.h"

static long long
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *
tk_tempdir (void)
{
    const char *base = getenv ("TMPDIR");
    char *dir;
    if (asprintf (&dir, "%s/mesh-test-XXXXXX", base && *base? base: "/tmp") < 0 || !mkdtemp (dir))
        abort ();
    return dir;
}

static int
s_remove (const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void) sb; (void) flag; (void) ftw;
    return remove (path);
}

void
tk_tempdir_remove (char **dir_p)
{
    if (dir_p && *dir_p) {
        if (!getenv ("MESH_KEEP_TEST_DIRS"))
            nftw (*dir_p, s_remove, 16, FTW_DEPTH | FTW_PHYS);
        free (*dir_p);
        *dir_p = NULL;
    }
}

const char *
tk_bin (const char *name)
{
    static char path [4][512];
    static int next = 0;
    const char *bin = getenv ("MESH_BIN");
    char *slot = path [next++ % 4];
    snprintf (slot, 512, "%s/%s", bin && *bin? bin: "bin", name);
    return slot;
}

int
tk_start (tk_proc_t *proc, const char *dir, const char *name, char *const argv [], const char *stdin_path)
{
    memset (proc, 0, sizeof (*proc));
    proc->status = -1;
    snprintf (proc->name, sizeof (proc->name), "%s", name);
    snprintf (proc->out, sizeof (proc->out), "%s/%s.out", dir, name);
    snprintf (proc->err, sizeof (proc->err), "%s/%s.err", dir, name);
    fflush (NULL);
    pid_t pid = fork ();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        //  A test that fails jumps past its tk_stop: the process it started
        //  must still not outlive the runner
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        int in = open (stdin_path? stdin_path: "/dev/null", O_RDONLY);
        int out = open (proc->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open (proc->err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || out < 0 || err < 0)
            _exit (126);
        dup2 (in, 0);
        dup2 (out, 1);
        dup2 (err, 2);
        execv (argv [0], argv);
        dprintf (2, "exec %s: %s\n", argv [0], strerror (errno));
        _exit (127);
    }
    proc->pid = pid;
    return 0;
}

int
tk_wait (tk_proc_t *proc, int timeout_ms)
{
    if (proc->pid <= 0)
        return proc->status;
    long long deadline = s_now_ms () + timeout_ms;
    while (true) {
        int status;
        pid_t rc = waitpid (proc->pid, &status, WNOHANG);
        if (rc == proc->pid) {
            proc->pid = 0;
            proc->status = WIFEXITED (status)? WEXITSTATUS (status): -1;
            return proc->status;
        }
        if (s_now_ms () >= deadline) {
            kill (proc->pid, SIGKILL);
            waitpid (proc->pid, &status, 0);
            proc->pid = 0;
            fprintf (stderr, "testkit: %s did not exit in %d ms: killed\n", proc->name, timeout_ms);
            return -1;
        }
        usleep (10000);
    }
}

int
tk_stop (tk_proc_t *proc)
{
    if (proc->pid > 0)
        kill (proc->pid, SIGTERM);
    return tk_wait (proc, 5000);
}

char *
tk_read (const char *path)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return NULL;
    char *text = NULL;
    size_t size = 0;
    FILE *memory = open_memstream (&text, &size);
    char buffer [65536];
    size_t got;
    while ((got = fread (buffer, 1, sizeof (buffer), file)) > 0)
        fwrite (buffer, 1, got, memory);
    fclose (file);
    fclose (memory);
    return text;
}

void
tk_write (const char *path, const char *text)
{
    FILE *file = fopen (path, "wb");
    if (!file)
        abort ();
    fputs (text, file);
    fclose (file);
}

bool
tk_wait_for (const char *path, const char *needle, int timeout_ms)
{
    long long deadline = s_now_ms () + timeout_ms;
    while (true) {
        char *text = tk_read (path);
        bool found = text && strstr (text, needle);
        free (text);
        if (found)
            return true;
        if (s_now_ms () >= deadline)
            return false;
        usleep (20000);
    }
}

size_t
tk_count (const char *path, const char *needle)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return 0;
    char *line = NULL;
    size_t capacity = 0, count = 0;
    while (getline (&line, &capacity, file) != -1)
        if (strstr (line, needle))
            count++;
    free (line);
    fclose (file);
    return count;
}

size_t
tk_wait_count (const char *path, const char *needle, size_t count, int stall_ms)
{
    size_t last = (size_t) -1, now;
    long long moved = s_now_ms ();
    while ((now = tk_count (path, needle)) < count) {
        if (now != last) {
            last = now;
            moved = s_now_ms ();
        }
        else
        if (s_now_ms () - moved > stall_ms)
            break;
        usleep (50000);
    }
    return now;
}

uint64_t
tk_random (uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545F4914F6CDD1DULL;
}

int
tk_pick (uint64_t *state, int n)
{
    return (int) (tk_random (state) % (uint64_t) n);
}

int
tk_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = 0 };
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t size = sizeof (address);
    if (fd < 0 || bind (fd, (struct sockaddr *) &address, sizeof (address))
    ||  getsockname (fd, (struct sockaddr *) &address, &size))
        abort ();
    close (fd);
    return ntohs (address.sin_port);
}

//  Read key=value from the broker's endpoints file.
static bool
s_endpoint (const char *dir, const char *key, char *value)
{
    char path [512];
    snprintf (path, sizeof (path), "%s/endpoints", dir);
    char *text = tk_read (path);
    if (!text)
        return false;
    char pattern [32];
    snprintf (pattern, sizeof (pattern), "%s=", key);
    char *at = strstr (text, pattern);
    bool found = false;
    if (at) {
        at += strlen (pattern);
        size_t size = strcspn (at, "\n");
        memcpy (value, at, size);
        value [size] = '\0';
        found = size > 0;
    }
    free (text);
    return found;
}

int
tk_broker_start (tk_proc_t *proc, const char *dir, const char *config, char *deliver,
                 const char *const *extra)
{
    char endpoints [512];
    snprintf (endpoints, sizeof (endpoints), "%s/endpoints", dir);
    remove (endpoints);         //  an earlier broker's, in the same directory, must not be read for this one's
    const char *argv [32] = { tk_bin ("mesh-broker"), "--config", config,
                              "--ingest", "tcp://127.0.0.1:*", "--deliver", "tcp://127.0.0.1:*",
                              "--api", "tcp://127.0.0.1:*", "--endpoints-file", endpoints };
    int argc = 11;
    for (int i = 0; extra && extra [i] && argc < 31; i++)
        argv [argc++] = extra [i];
    argv [argc] = NULL;
    if (tk_start (proc, dir, "broker", (char *const *) argv, NULL))
        return -1;
    long long deadline = s_now_ms () + 10000;
    while (!s_endpoint (dir, "deliver", deliver)) {
        if (s_now_ms () > deadline || waitpid (proc->pid, NULL, WNOHANG) == proc->pid)
            return -1;
        usleep (10000);
    }
    return 0;
}

int
tk_broker_ingest (const char *dir, char *ingest, int timeout_ms)
{
    long long deadline = s_now_ms () + timeout_ms;
    while (!s_endpoint (dir, "ingest", ingest)) {
        if (s_now_ms () > deadline)
            return -1;
        usleep (10000);
    }
    return 0;
}

bool
tk_broker_endpoint (const char *dir, const char *key, char *value)
{
    return s_endpoint (dir, key, value);
}

long long
tk_stat (const char *err_path, const char *key)
{
    char *text = tk_read (err_path);
    if (!text)
        return -1;
    char *stats = strstr (text, "final stats:");
    long long value = -1;
    if (stats) {
        char pattern [128];
        snprintf (pattern, sizeof (pattern), " %s=", key);
        char *at = strstr (stats, pattern);
        if (at)
            value = strtoll (at + strlen (pattern), NULL, 10);
    }
    free (text);
    return value;
}
