/*  shipping: schedules a delivery for every processed payment

    Target of a rule that matches every Payment Processed event.
*/
#include "../common/service.h"

static int
s_handle (const service_t *service, const mesh_delivery_t *delivery)
{
    service_log (service, delivery, "schedule delivery of order %s to '%s' (total_cost=%.2f)",
                 service_string (delivery, "detail.order_id", "?"),
                 service_string (delivery, "detail.address", "?"),
                 service_number (delivery, "detail.total_cost", 0));
    return 0;
}

int
main (int argc, char *argv [])
{
    return service_subscriber_main (argc, argv, "shipping",
                                    "Schedules a delivery for each payment the broker routes to it.", s_handle);
}
