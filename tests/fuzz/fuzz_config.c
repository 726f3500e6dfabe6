/*  fuzz_config: arbitrary bytes as a rule file and as a JSON event

    Rule files and JSON events come from people and from the network: both
    parsers must refuse bad input with a message, never crash or leak.
*/
#include "fuzz_common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    mesh_error_t err = { 0 };
    mesh_bus_t *bus = mesh_bus_parse ((const char *) data, size, "fuzz.json", &err);
    if (!bus && err.text [0] == '\0')
        abort ();
    mesh_bus_destroy (&bus);
    mesh_event_t *event = mesh_event_from_json ((const char *) data, size, NULL, &err);
    if (event) {
        mesh_event_fill_defaults (event);
        void *bytes;
        size_t bytes_size;
        if (mesh_event_encode (event, &bytes, &bytes_size, NULL) == 0) {
            mesh_limits_t limits;
            mesh_limits_init (&limits);
            //  a filled-in event with its source and detail-type passes the
            //  broker's check, when they are of the lengths it takes (EventBridge's:
            //  1 to 256 and 1 to 128 characters; shorter or longer is refused, with
            //  its reason, which the check's tests assert)
            const char *source = mesh_event_source (event);
            const char *detail_type = mesh_event_detail_type (event);
            if (bytes_size <= limits.max_event_size && source && detail_type
            &&  *source && strlen (source) <= 256 && *detail_type && strlen (detail_type) <= 128
            &&  mesh_event_check (bytes, bytes_size, &limits, NULL, &err)) {
                fprintf (stderr, "fuzz: a filled-in event fails the check: %s\n", err.text);
                abort ();
            }
            free (bytes);
        }
        mesh_event_destroy (&event);
    }
    return 0;
}
