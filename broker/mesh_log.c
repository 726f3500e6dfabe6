/*  mesh_log.c: the broker's gated logging (mesh_log.h)

    One gate per kind: the first line at once, then at most one per period.
    The suppressed count is carried into the next line that passes, so the
    log says "and N more like it" rather than going quiet without a trace.
*/
#include <jansson.h>
#include "mesh_log.h"
#include "mesh.h"

//  News rather than trouble: written at info level.
static bool
s_is_info (mesh_log_kind_t kind)
{
    return kind == MESH_LOG_DEMAND || kind == MESH_LOG_CONNECTION || kind == MESH_LOG_DISCONNECTION;
}

void
mesh_log_init (mesh_log_t *self, int64_t period_ms)
{
    assert (self);
    memset (self, 0, sizeof (*self));
    self->period_ms = period_ms;
}

bool
mesh_log_pass (mesh_log_t *self, mesh_log_kind_t kind)
{
    assert (kind < MESH_LOG_KINDS);
    int64_t now = zclock_mono ();
    if (now < self->gate [kind].next) {
        self->gate [kind].suppressed++;
        return false;
    }
    self->gate [kind].next = now + self->period_ms;
    return true;
}

void
mesh_log_write (mesh_log_t *self, mesh_log_kind_t kind, const char *format, ...)
{
    char text [512];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof (text), format, args);
    va_end (args);
    char more [96] = "";
    if (self->gate [kind].suppressed)
        snprintf (more, sizeof (more), " (and %" PRIu64 " more like it in the last %" PRId64 " s)",
                  self->gate [kind].suppressed, self->period_ms / 1000);
    mesh_say (s_is_info (kind)? MESH_SAY_INFO: MESH_SAY_WARNING, "%s%s", text, more);
    self->gate [kind].suppressed = 0;
}

static mesh_say_level_t s_level = MESH_SAY_DEBUG;   //  what the caller asks for: -v decides debug
static bool s_json;

int
mesh_say_setup (const char *level, const char *format)
{
    static const char *levels [] = { "debug", "info", "warning", "error" };
    int found = -1;
    for (int i = 0; i < 4; i++)
        if (streq (level, levels [i]))
            found = i;
    if (found < 0 || (!streq (format, "text") && !streq (format, "json")))
        return -1;
    s_level = (mesh_say_level_t) found;
    s_json = streq (format, "json");
    return 0;
}

void
mesh_say (mesh_say_level_t level, const char *format, ...)
{
    if (level < s_level)
        return;
    char text [2048];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof (text), format, args);
    va_end (args);
    if (!s_json) {
        if (level == MESH_SAY_DEBUG)
            zsys_debug ("%s", text);
        else
        if (level == MESH_SAY_INFO)
            zsys_info ("%s", text);
        else
        if (level == MESH_SAY_WARNING)
            zsys_warning ("%s", text);
        else
            zsys_error ("%s", text);
        return;
    }
    static const char *names [] = { "debug", "info", "warning", "error" };
    char when [40];
    mesh_monitor_time (-1, when, sizeof (when));
    json_t *line = json_pack ("{s:s, s:s, s:s, s:s}", "time", when, "level", names [level],
                              "program", "mesh-broker", "message", text);
    char *out = line? json_dumps (line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII): NULL;
    if (out) {
        fprintf (stderr, "%s\n", out);
        fflush (stderr);
    }
    free (out);
    json_decref (line);
}
