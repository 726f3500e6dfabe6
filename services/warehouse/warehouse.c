/*  warehouse: reserves stock for every processed payment

    Target of a rule that matches every Payment Processed event.
*/
#include "../common/service.h"

static int
s_handle (const service_t *service, const mesh_delivery_t *delivery)
{
    long items = mesh_event_get_size (delivery->event, "detail.items");
    service_log (service, delivery, "reserve %ld item(s) for order %s (total_cost=%.2f)",
                 items < 0? 0: items, service_string (delivery, "detail.order_id", "?"),
                 service_number (delivery, "detail.total_cost", 0));
    return 0;
}

int
main (int argc, char *argv [])
{
    return service_subscriber_main (argc, argv, "warehouse",
                                    "Reserves stock for each payment the broker routes to it.", s_handle);
}
