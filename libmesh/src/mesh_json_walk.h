/*  mesh_json_walk.h: a large JSON document read one value at a time

    Private to libmesh (mesh__ names). jansson has no streaming API:
    json_loadb builds the tree of the whole text, and a rule file of
    100,000 rules is 20 MB of text and several times that in tree. The
    walker reads a document's outer structure itself, only whitespace and
    the punctuation { } [ ] , : between values, and has jansson parse each
    value: json_loadb with JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK parses
    the one value at the start of its buffer and says in the error's
    position how many bytes it took. The caller holds one value's tree at
    a time, and may step over an object unparsed (mesh__jwalk_skip_object)
    to hand its bytes to a parser of its own.

    Errors read as a parse of the whole document would: "ORIGIN:LINE:COL:
    reason", the line and column counted in the whole text the way jansson
    counts them (from 1; columns in characters, at the last one read),
    jansson's reason for what jansson read and the same words for the
    punctuation read here ("']' expected near '}'"). A key given twice is
    an error (MESH_EINVAL, "ORIGIN:L:C: duplicate key 'name'"); everything
    else is MESH_EMALFORMED. Nothing is read past the size given: the text
    need not be NUL-terminated.

    Usage:
        mesh__jwalk_t walk;
        mesh__jwalk_init (&walk, text, size, "rules.json", &err);
        if (mesh__jwalk_peek (&walk) == '{')
            rc = mesh__jwalk_object (&walk, s_member, state);    //  s_member reads each value
        if (!rc && mesh__jwalk_peek (&walk) != -1)
            rc = mesh__jwalk_expected (&walk, "end of file");
*/
#ifndef MESH_JSON_WALK_H_INCLUDED
#define MESH_JSON_WALK_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "mesh_error.h"

typedef struct {
    const char *text;           //  the document (borrowed)
    size_t size;
    size_t at;                  //  the next byte to read
    const char *origin;         //  names the document in errors
    mesh_error_t *err;          //  where errors go (may be NULL)
} mesh__jwalk_t;

void
    mesh__jwalk_init (mesh__jwalk_t *self, const char *text, size_t size, const char *origin,
                      mesh_error_t *err);

//  Skip whitespace; returns the next byte (0 to 255), or -1 at the end.
int
    mesh__jwalk_peek (mesh__jwalk_t *self);

//  Take byte c if it comes next, after whitespace: true; else false, and
//  nothing but the whitespace is taken.
bool
    mesh__jwalk_take (mesh__jwalk_t *self, char c);

//  Fail at the next token: "ORIGIN:L:C: <what> expected near '<token>'",
//  or "... near end of file". MESH_EMALFORMED; returns -1.
int
    mesh__jwalk_expected (mesh__jwalk_t *self, const char *what);

//  Fail at the byte at offset at: "ORIGIN:L:C: " and the message, with
//  code. Returns -1.
int
    mesh__jwalk_fail (mesh__jwalk_t *self, size_t at, int code, const char *format, ...)
    __attribute__ ((format (printf, 4, 5)));

//  Parse the next value with jansson and step past it. flags: 0 or
//  JSON_REJECT_DUPLICATES (a repeated key in the value is then the
//  duplicate key error). Returns the value (caller owns it), or NULL with
//  the error.
json_t *
    mesh__jwalk_value (mesh__jwalk_t *self, size_t flags);

//  Read the object that comes next: for each member, its key is read
//  (key: the key, key_size bytes, not terminated, borrowed for the call;
//  key_at: the offset of the key's closing quote, where an error about
//  the key points, as jansson's would) and member is called to read the
//  value (with mesh__jwalk_value, or by walking it). Returns 0, or -1
//  with the error, member's own (member returns non-zero) or the
//  syntax's. Keys given twice are member's to refuse (it knows which
//  keys it took), with mesh__jwalk_duplicate.
typedef int (mesh__jwalk_member_fn) (mesh__jwalk_t *walk, const char *key, size_t key_size,
                                     size_t key_at, void *arg);
int
    mesh__jwalk_object (mesh__jwalk_t *self, mesh__jwalk_member_fn *member, void *arg);

//  Read the array that comes next, calling item to read each value (the
//  index counts from 0). Returns 0, or -1 with the error as for objects.
typedef int (mesh__jwalk_item_fn) (mesh__jwalk_t *walk, size_t index, void *arg);
int
    mesh__jwalk_array (mesh__jwalk_t *self, mesh__jwalk_item_fn *item, void *arg);

//  Fail with the duplicate key error for the key whose closing quote is
//  at key_at. Returns -1.
int
    mesh__jwalk_duplicate (mesh__jwalk_t *self, const char *key, size_t key_size, size_t key_at);

//  Step over the object that comes next without parsing it: sets *start
//  to where it begins, *size to its bytes and *compact to the size of its
//  compact copy (mesh__jwalk_compact's), which it writes into out if it
//  fits in room bytes (else the caller makes it with mesh__jwalk_compact
//  into more room; out may be NULL with room 0). The bytes are not
//  judged: strings are skipped with their escapes and brackets counted,
//  which finds the end of any object that is JSON. A caller hands the
//  bytes to a parser of its own, and if that refuses them, has
//  mesh__jwalk_check say where the document is wrong. Returns 0, or -1
//  with the error when the text ends first.
int
    mesh__jwalk_skip_object (mesh__jwalk_t *self, size_t *start, size_t *size,
                             char *out, size_t room, size_t *compact);

//  The bytes of text at start, size long, without the whitespace between
//  tokens, into out (NULL: only counted); returns how many. Whitespace
//  between two tokens neither of which is punctuation is kept, so the
//  copy is JSON exactly when the original is ("[1 2]" stays refused).
size_t
    mesh__jwalk_compact (const mesh__jwalk_t *self, size_t start, size_t size, char *out);

//  Judge the value at start with jansson, for bytes stepped over: 0 if it
//  is JSON, else -1 with the error mesh__jwalk_value would give.
int
    mesh__jwalk_check (mesh__jwalk_t *self, size_t start);

#endif
