/*  test_arena.c: memory that is freed all at once (mesh_arena.h), which
    holds every compiled rule and the automaton builder's expansions.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "../libmesh/src/mesh_arena.h"

static void
test_arena_pieces_are_zeroed_and_aligned (void **state)
{
    (void) state;
    mesh__arena_t arena;
    mesh__arena_init (&arena);
    for (size_t size = 1; size < 600; size += 37) {
        unsigned char *piece = mesh__arena_alloc (&arena, size);
        assert_non_null (piece);
        assert_int_equal ((uintptr_t) piece % _Alignof (max_align_t), 0);
        for (size_t i = 0; i < size; i++)
            assert_int_equal (piece [i], 0);
        memset (piece, 0xff, size);
    }
    mesh__arena_fini (&arena);
}

static void
test_arena_chunks_grow_to_their_cap (void **state)
{
    (void) state;
    mesh__arena_t arena;
    mesh__arena_init (&arena);
    assert_int_equal (arena.bytes, 0);
    assert_non_null (mesh__arena_alloc (&arena, 16));
    assert_int_equal (arena.bytes, sizeof (mesh__arena_chunk_t) + 256);
    //  Each new chunk doubles, up to the cap
    size_t expected = sizeof (mesh__arena_chunk_t) + 256;
    size_t capacities [] = { 512, 1024, 2048, 4096, 8192, 16384, 16384 };
    for (size_t i = 0; i < 7; i++) {
        assert_non_null (mesh__arena_alloc (&arena, arena.head->capacity));
        expected += sizeof (mesh__arena_chunk_t) + capacities [i];
        assert_int_equal (arena.bytes, expected);
    }
    //  A piece larger than the cap gets a chunk of its own size
    assert_non_null (mesh__arena_alloc (&arena, 50000));
    assert_true (arena.head->capacity >= 50000);
    mesh__arena_fini (&arena);
    assert_null (arena.head);
    assert_int_equal (arena.bytes, 0);
    //  and the arena can be used again
    assert_non_null (mesh__arena_alloc (&arena, 8));
    mesh__arena_fini (&arena);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_arena_pieces_are_zeroed_and_aligned),
        cmocka_unit_test (test_arena_chunks_grow_to_their_cap),
    };
    return cmocka_run_group_tests_name ("arena", tests, NULL, NULL);
}
