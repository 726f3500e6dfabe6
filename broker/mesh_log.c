/*  mesh_log.c: the broker's gated logging (mesh_log.h)

    One gate per kind: the first line at once, then at most one per period.
    The suppressed count is carried into the next line that passes, so the
    log says "and N more like it" rather than going quiet without a trace.
*/
#include "mesh_log.h"

//  News rather than trouble: written at info level.
static bool
s_is_info (mesh_log_kind_t kind)
{
    return kind == MESH_LOG_DEMAND || kind == MESH_LOG_CONNECTION;
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
    if (s_is_info (kind))
        zsys_info ("%s%s", text, more);
    else
        zsys_warning ("%s%s", text, more);
    self->gate [kind].suppressed = 0;
}
