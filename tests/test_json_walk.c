/*  test_json_walk.c: a large JSON document read one value at a time
    (mesh_json_walk.h), which reads rule files. Its errors must be the
    ones a parse of the whole text gives (jansson's, at jansson's line and
    column), so most tests here hold it to jansson on the whole text.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include "mesh_error.h"
#include "../libmesh/src/mesh_json_walk.h"

//  Keys seen by s_collect, joined with '|'
typedef struct {
    char keys [256];
    int values;
} s_seen_t;

static int
s_collect (mesh__jwalk_t *walk, const char *key, size_t size, size_t key_at, void *arg)
{
    s_seen_t *seen = (s_seen_t *) arg;
    size_t n = strlen (seen->keys);
    snprintf (seen->keys + n, sizeof (seen->keys) - n, "%s%.*s", n? "|": "", (int) size, key);
    json_t *value = mesh__jwalk_value (walk, JSON_REJECT_DUPLICATES);
    json_decref (value);
    seen->values++;
    return value? 0: -1;
}

//  A key is the same key whether its bytes are plain or escaped
static void
test_json_walk_reads_keys_plain_or_escaped (void **state)
{
    (void) state;
    const char *text = " {\"name\": 1, \"na\\u006de\" :\"x\", \"caf\xc3\xa9\": [1, {\"a\": 2}], \"\": null}  ";
    mesh_error_t err = { 0 };
    mesh__jwalk_t walk;
    mesh__jwalk_init (&walk, text, strlen (text), "t.json", &err);
    s_seen_t seen = { { 0 }, 0 };
    assert_int_equal (mesh__jwalk_object (&walk, s_collect, &seen), 0);
    assert_string_equal (seen.keys, "name|name|caf\xc3\xa9|");
    assert_int_equal (seen.values, 4);
    assert_int_equal (mesh__jwalk_peek (&walk), -1);
}

//  Every error, at the line and column jansson gives for the whole text
static void
test_json_walk_errors_are_jansson_s_for_the_whole_text (void **state)
{
    (void) state;
    static const char *texts [] = {
        "{\n  \"a\" 1}",                    //  ':' missing
        "{\"a\": 1,}",                       //  a comma before the end
        "{\"a\": 1 \"b\": 2}",              //  a comma missing
        "{\"a\": 1 \"a long key, longer than twenty bytes\": 2}",   //  ...before a long token
        "{\n\"\xc3\xa9t\xc3\xa9\": [1,, 2]}", //  jansson's own, after two-byte characters
        "{\"a\": 1",                         //  the end comes first
        "{\"a\": \"b",
        "{\"a\": tru}",
        "{\"a\": 1, \"b\": {\"c\": 1, \"c\": 2}}",     //  a duplicate, jansson's
        "{\"a\": [1e400]}",
        NULL
    };
    for (const char **text = texts; *text; text++) {
        mesh_error_t err = { 0 };
        mesh__jwalk_t walk;
        mesh__jwalk_init (&walk, *text, strlen (*text), "t.json", &err);
        s_seen_t seen = { { 0 }, 0 };
        assert_int_equal (mesh__jwalk_object (&walk, s_collect, &seen), -1);
        json_error_t whole;
        assert_null (json_loads (*text, JSON_REJECT_DUPLICATES, &whole));
        char where [64];
        snprintf (where, sizeof (where), "t.json:%d:%d: ", whole.line, whole.column);
        if (strncmp (err.text, where, strlen (where)))
            fail_msg ("%s: expected at %s (%s), got %s", *text, where, whole.text, err.text);
    }
}

//  A skipped object ends where its JSON ends, whatever its strings hold;
//  its compact copy is JSON exactly when it is
static void
test_json_walk_skips_and_compacts_objects (void **state)
{
    (void) state;
    static const struct {
        const char *text;
        const char *compact;
    } cases [] = {
        { "{ \"a\" : [ 1 , 2 ] }", "{\"a\":[1,2]}" },
        { "{\"a\\\"}\": \"x } ] \\\\\", \"b\": {\"c\": [\"]\"]}}", "{\"a\\\"}\":\"x } ] \\\\\",\"b\":{\"c\":[\"]\"]}}" },
        { "{\"x\":\n\t[1 2]}", "{\"x\":[1 2]}" },
        { "{\"x\": [tr ue]}", "{\"x\":[tr ue]}" },
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases [0]); i++) {
        char text [256];
        int size = snprintf (text, sizeof (text), "  %s , 5", cases [i].text);
        mesh_error_t err = { 0 };
        mesh__jwalk_t walk;
        mesh__jwalk_init (&walk, text, (size_t) size, "t.json", &err);
        size_t start, length, skipped_size;
        char skipped [256];
        assert_int_equal (mesh__jwalk_skip_object (&walk, &start, &length, skipped, sizeof (skipped),
                                                   &skipped_size), 0);
        assert_int_equal (start, 2);
        assert_int_equal (length, strlen (cases [i].text));
        assert_true (mesh__jwalk_take (&walk, ','));
        char compact [256];
        size_t compact_size = mesh__jwalk_compact (&walk, start, length, compact);
        assert_int_equal (compact_size, mesh__jwalk_compact (&walk, start, length, NULL));
        compact [compact_size] = '\0';
        assert_string_equal (compact, cases [i].compact);
        //  the copy made while skipping is the same, and one that does not
        //  fit is only counted
        assert_int_equal (skipped_size, compact_size);
        assert_memory_equal (skipped, compact, compact_size);
        walk.at = 0;
        assert_int_equal (mesh__jwalk_skip_object (&walk, &start, &length, skipped, 4, &skipped_size), 0);
        assert_int_equal (skipped_size, compact_size);
        json_t *original = json_loadb (text + start, length, 0, NULL);
        json_t *copy = json_loadb (compact, compact_size, 0, NULL);
        assert_true ((original == NULL) == (copy == NULL));
        assert_true (original == NULL || json_equal (original, copy));
        json_decref (original);
        json_decref (copy);
    }
    //  One that does not end is jansson's error
    const char *text = "{\"a\": [1, {\"b\": 2}";
    mesh_error_t err = { 0 };
    mesh__jwalk_t walk;
    mesh__jwalk_init (&walk, text, strlen (text), "t.json", &err);
    size_t start, length, compact;
    assert_int_equal (mesh__jwalk_skip_object (&walk, &start, &length, NULL, 0, &compact), -1);
    assert_int_equal (err.code, MESH_EMALFORMED);
    assert_string_equal (err.text, "t.json:1:18: ']' expected near end of file");
}

//  A value is read to its last byte, and no further (a number's end is
//  found by reading the byte after it)
static void
test_json_walk_values_end_where_they_end (void **state)
{
    (void) state;
    const char *text = "[12,true ,\"s\"  ,{\"a\":1}]";
    mesh_error_t err = { 0 };
    mesh__jwalk_t walk;
    mesh__jwalk_init (&walk, text, strlen (text), "t.json", &err);
    assert_true (mesh__jwalk_take (&walk, '['));
    const char *expected [] = { "12", "true", "\"s\"", "{\"a\":1}" };
    for (size_t i = 0; i < 4; i++) {
        mesh__jwalk_peek (&walk);
        size_t before = walk.at;
        json_t *value = mesh__jwalk_value (&walk, 0);
        assert_non_null (value);
        json_decref (value);
        assert_int_equal (walk.at - before, strlen (expected [i]));
        assert_memory_equal (text + before, expected [i], strlen (expected [i]));
        assert_true (mesh__jwalk_take (&walk, i < 3? ',': ']'));
    }
    assert_int_equal (mesh__jwalk_peek (&walk), -1);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_json_walk_reads_keys_plain_or_escaped),
        cmocka_unit_test (test_json_walk_errors_are_jansson_s_for_the_whole_text),
        cmocka_unit_test (test_json_walk_skips_and_compacts_objects),
        cmocka_unit_test (test_json_walk_values_end_where_they_end),
    };
    return cmocka_run_group_tests_name ("json_walk", tests, NULL, NULL);
}
