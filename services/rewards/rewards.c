/*  rewards: gives loyalty points for big payments

    Target of the rule payment-processed (Payment Processed events whose
    detail.total_cost is over 200): one point per 10 of total_cost.
*/
#include <math.h>
#include "../common/service.h"

static int
s_handle (const service_t *service, const mesh_delivery_t *delivery)
{
    double total = service_number (delivery, "detail.total_cost", 0);
    service_log (service, delivery, "customer %s earns %d points (total_cost=%.2f order=%s)",
                 service_string (delivery, "detail.customer_id", "?"), (int) floor (total / 10),
                 total, service_string (delivery, "detail.order_id", "?"));
    return 0;
}

int
main (int argc, char *argv [])
{
    return service_subscriber_main (argc, argv, "rewards",
                                    "Gives loyalty points for each payment the broker routes to it.", s_handle);
}
