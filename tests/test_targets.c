/*  test_targets.c: the targets registry (broker/mesh_targets.c), without sockets */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "../broker/mesh_targets.h"

static void
test_targets_find_by_topic_and_refuse_bad_names (void **state)
{
    (void) state;
    mesh_targets_t *targets = mesh_targets_new (100, 10);
    assert_non_null (targets);
    mesh_target_t *rewards = mesh_targets_ensure (targets, "rewards", true);
    assert_non_null (rewards);
    assert_ptr_equal (mesh_targets_ensure (targets, "rewards", false), rewards);
    assert_memory_equal (rewards->topic, "rewards\0", 8);
    assert_int_equal (rewards->topic_size, 8);
    assert_ptr_equal (mesh_targets_lookup (targets, "rewards\0", 8), rewards);
    assert_null (mesh_targets_lookup (targets, "rewards", 7));        //  no NUL
    assert_null (mesh_targets_lookup (targets, "", 0));
    assert_null (mesh_targets_lookup (targets, "rewards\0\0", 9));
    assert_null (mesh_targets_ensure (targets, "bad name!", false));
    assert_null (mesh_targets_ensure (targets, "", false));
    mesh_targets_destroy (&targets);
    assert_null (targets);
}

//  Targets that exist only because someone subscribed are bounded, and go
//  when their last subscriber does; routed ones stay.
static void
test_targets_subscribed_only_are_bounded_and_expire (void **state)
{
    (void) state;
    mesh_targets_t *targets = mesh_targets_new (100, 3);
    mesh_target_t *routed = mesh_targets_ensure (targets, "routed", true);
    mesh_targets_route (targets, routed);
    mesh_target_t *made [3];
    for (int i = 0; i < 3; i++) {
        char name [16];
        snprintf (name, sizeof (name), "invented-%d", i);
        made [i] = mesh_targets_ensure (targets, name, false);
        assert_non_null (made [i]);
        mesh_targets_subscribe (targets, made [i]);
    }
    assert_int_equal (mesh_targets_unrouted (targets), 3);
    assert_null (mesh_targets_ensure (targets, "one-too-many", false));
    //  A route may still add one: the bound is on subscribed-only targets.
    assert_non_null (mesh_targets_ensure (targets, "for-a-rule", true));
    mesh_targets_route (targets, mesh_targets_lookup (targets, "for-a-rule\0", 11));

    int64_t now = zclock_mono ();
    assert_int_equal (mesh_targets_expire (targets, now, 60000), 0);    //  all subscribed
    mesh_targets_unsubscribe (targets, made [0]);
    mesh_targets_unsubscribe (targets, made [1]);
    made [1]->seq = 5;          //  it gave out numbers: kept for a while
    assert_int_equal (mesh_targets_expire (targets, now, 60000), 1);
    assert_null (mesh_targets_lookup (targets, "invented-0\0", 11));
    assert_non_null (mesh_targets_lookup (targets, "invented-1\0", 11));
    assert_int_equal (mesh_targets_expire (targets, now + 60000, 60000), 1);
    assert_null (mesh_targets_lookup (targets, "invented-1\0", 11));
    assert_int_equal (mesh_targets_size (targets), 3);
    assert_int_equal (mesh_targets_unrouted (targets), 1);
    //  Room again for a subscribed-only target.
    assert_non_null (mesh_targets_ensure (targets, "invented-3", false));
    //  The routed one never expires, subscribed or not.
    assert_int_equal (mesh_targets_expire (targets, now + 3600000, 60000), 1);
    assert_ptr_equal (mesh_targets_lookup (targets, "routed\0", 7), routed);
    //  Iteration sees every target once.
    size_t seen = 0;
    for (size_t i = 0; mesh_targets_at (targets, i); i++, seen++)
        assert_int_equal (mesh_targets_at (targets, i)->index, i);
    assert_int_equal (seen, mesh_targets_size (targets));
    mesh_targets_destroy (&targets);
}

static void
test_targets_registry_is_bounded (void **state)
{
    (void) state;
    mesh_targets_t *targets = mesh_targets_new (5, 5);
    for (int i = 0; i < 5; i++) {
        char name [16];
        snprintf (name, sizeof (name), "t%d", i);
        assert_non_null (mesh_targets_ensure (targets, name, true));
    }
    assert_null (mesh_targets_ensure (targets, "t5", true));
    mesh_targets_destroy (&targets);
}

//  Many targets coming and going: every one left is found, none gone is.
static void
test_targets_lookup_survives_churn (void **state)
{
    (void) state;
    mesh_targets_t *targets = mesh_targets_new (5000, 5000);
    bool alive [3000] = { false };
    uint64_t random = 88172645463325252ULL;
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 3000; i++) {
            random ^= random << 13; random ^= random >> 7; random ^= random << 17;
            char name [16];
            snprintf (name, sizeof (name), "t-%d", i);
            bool want = random % 3 != 0;
            mesh_target_t *target = mesh_targets_lookup (targets, name, 0);     //  not a topic
            assert_null (target);
            char topic [MESH_TOPIC_MAX];
            size_t size = mesh_proto_topic (name, topic);
            target = mesh_targets_lookup (targets, topic, size);
            assert_true ((target != NULL) == alive [i]);
            if (want && !target) {
                target = mesh_targets_ensure (targets, name, false);
                assert_non_null (target);
                mesh_targets_subscribe (targets, target);
            }
            if (!want && target)
                mesh_targets_unsubscribe (targets, target);
            alive [i] = want;
        }
        mesh_targets_expire (targets, zclock_mono (), 60000);
        size_t count = 0;
        for (int i = 0; i < 3000; i++) {
            char name [16], topic [MESH_TOPIC_MAX];
            snprintf (name, sizeof (name), "t-%d", i);
            size_t size = mesh_proto_topic (name, topic);
            mesh_target_t *target = mesh_targets_lookup (targets, topic, size);
            assert_true ((target != NULL) == alive [i]);
            if (target)
                assert_string_equal (target->name, name);
            count += alive [i];
        }
        assert_int_equal (mesh_targets_size (targets), count);
    }
    mesh_targets_destroy (&targets);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_targets_find_by_topic_and_refuse_bad_names),
        cmocka_unit_test (test_targets_subscribed_only_are_bounded_and_expire),
        cmocka_unit_test (test_targets_registry_is_bounded),
        cmocka_unit_test (test_targets_lookup_survives_churn),
    };
    return cmocka_run_group_tests_name ("targets", tests, NULL, NULL);
}
