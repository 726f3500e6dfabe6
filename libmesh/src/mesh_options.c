/*  mesh_options.c: one option parser, driven by a table

    mesh_options_parse flattens the table (and the tables it includes)
    into a list of entries, each with the absolute offset of its value;
    then it reads argv, marking what was given; then, for every entry not
    given, the environment variable, else the default. Every value, from
    wherever it came, goes through s_set, so a bad MESH_SNDHWM is refused
    with the same words as a bad --sndhwm.

    The help text is generated from the same flattened list. Nothing here
    prints but mesh_options_main, to the streams it is given; errors are
    one line in a mesh_error_t.
*/
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "mesh_private.h"

#define S_ENTRIES_MAX 128           //  options of one program, included tables too
#define S_HELP_COLUMN 28

typedef struct {
    const mesh_option_t *option;
    size_t offset;                  //  in the top settings struct
    bool given;                     //  on the command line
} s_entry_t;

typedef struct {
    s_entry_t entries [S_ENTRIES_MAX];
    size_t count;
} s_flat_t;

static void
s_flatten (s_flat_t *self, const mesh_option_t *table, size_t base)
{
    for (const mesh_option_t *option = table; option && option->name; option++) {
        if (option->type == MESH_OPTION_TABLE) {
            s_flatten (self, option->table, base + option->offset);
            continue;
        }
        assert (self->count < S_ENTRIES_MAX);
        self->entries [self->count++] = (s_entry_t) { option, base + option->offset, false };
    }
}

//  What a number option expects, as the error and the help say it.
static void
s_bounds (const mesh_option_t *option, char *text, size_t size, bool with_type)
{
    const char *type = option->type == MESH_OPTION_DOUBLE? "a number": "an integer";
    bool bounded = !(option->min == 0 && option->max == 0);
    if (!bounded)
        snprintf (text, size, "%s", with_type? type: "");
    else
    if (isinf (option->max))
        snprintf (text, size, "%s%s>= %.15g", with_type? type: "", with_type? " ": "", option->min);
    else
        snprintf (text, size, "%s%s%.15g to %.15g", with_type? type: "", with_type? " from ": "",
                  option->min, option->max);
}

//  Parse text as the entry's value and store it. source names where the
//  text came from, for the error: "--sndhwm" or "--sndhwm (from MESH_SNDHWM)".
static int
s_set (const s_entry_t *entry, void *settings, const char *text, const char *source, mesh_error_t *err)
{
    const mesh_option_t *option = entry->option;
    char *at = (char *) settings + entry->offset;
    switch (option->type) {
        case MESH_OPTION_STRING:
        case MESH_OPTION_FILE:
            *(const char **) at = text;
            return 0;
        case MESH_OPTION_LIST: {
            mesh_option_list_t *list = (mesh_option_list_t *) at;
            if (list->count == MESH_OPTION_LIST_MAX)
                return mesh_error_set (err, MESH_EINVAL, "%s: at most %d values", source, MESH_OPTION_LIST_MAX);
            list->items [list->count++] = text;
            return 0;
        }
        case MESH_OPTION_BOOL: {
            //  Only from the environment: a flag on the command line has no value
            bool yes = strcmp (text, "1") == 0 || strcmp (text, "true") == 0 || strcmp (text, "yes") == 0;
            bool no = strcmp (text, "0") == 0 || strcmp (text, "false") == 0 || strcmp (text, "no") == 0
                   || *text == '\0';
            if (!yes && !no)
                return mesh_error_set (err, MESH_EINVAL, "%s: expected 1 or 0, got '%s'", source, text);
            *(bool *) at = yes;
            return 0;
        }
        default:
            break;
    }
    char *end = NULL;
    errno = 0;
    double number;
    long long whole = 0;
    if (option->type == MESH_OPTION_DOUBLE) {
        number = strtod (text, &end);
        if (!isfinite (number))
            errno = ERANGE;
    }
    else {
        whole = strtoll (text, &end, 10);
        number = (double) whole;
    }
    bool bounded = !(option->min == 0 && option->max == 0);
    bool fits = !errno && end != text && *end == '\0'
             && (!bounded || (number >= option->min && number <= option->max));
    if (fits && option->type == MESH_OPTION_INT)
        fits = whole >= INT_MIN && whole <= INT_MAX;
    if (fits && option->type == MESH_OPTION_SIZE)
        fits = whole >= 0;
    if (!fits) {
        char expected [96];
        s_bounds (option, expected, sizeof (expected), true);
        return mesh_error_set (err, MESH_EINVAL, "%s: expected %s, got '%s'", source, expected, text);
    }
    switch (option->type) {
        case MESH_OPTION_INT:    *(int *) at = (int) whole; break;
        case MESH_OPTION_SIZE:   *(size_t *) at = (size_t) whole; break;
        case MESH_OPTION_INT64:  *(int64_t *) at = (int64_t) whole; break;
        case MESH_OPTION_DOUBLE: *(double *) at = number; break;
        default:                 assert (false);
    }
    return 0;
}

//  Edit distance, for did-you-mean (names are short: a row of 64 will do).
static size_t
s_distance (const char *a, size_t a_size, const char *b)
{
    size_t b_size = strlen (b);
    if (a_size >= 64 || b_size >= 64)
        return SIZE_MAX;
    size_t row [64];
    for (size_t j = 0; j <= b_size; j++)
        row [j] = j;
    for (size_t i = 1; i <= a_size; i++) {
        size_t diagonal = row [0];
        row [0] = i;
        for (size_t j = 1; j <= b_size; j++) {
            size_t above = row [j];
            size_t best = diagonal + (a [i - 1] != b [j - 1]);
            if (above + 1 < best)
                best = above + 1;
            if (row [j - 1] + 1 < best)
                best = row [j - 1] + 1;
            row [j] = best;
            diagonal = above;
        }
    }
    return row [b_size];
}

//  The closest long name to name: a name it begins, or one at most two
//  edits away (and fewer edits than it has letters). NULL if none.
static const char *
s_suggest (const s_flat_t *flat, const char *name, size_t size)
{
    const char *best = NULL;
    size_t best_distance = SIZE_MAX;
    for (size_t i = 0; i < flat->count; i++) {
        const char *candidate = flat->entries [i].option->name;
        size_t distance = size >= 2 && strncmp (candidate, name, size) == 0? 1: s_distance (name, size, candidate);
        if (distance <= 2 && distance < size && distance < best_distance) {
            best = candidate;
            best_distance = distance;
        }
    }
    if (!best && size >= 2 && strncmp ("help", name, size) == 0)
        best = "help";
    return best;
}

static s_entry_t *
s_find_long (s_flat_t *flat, const char *name, size_t size)
{
    for (size_t i = 0; i < flat->count; i++)
        if (strlen (flat->entries [i].option->name) == size
        &&  memcmp (flat->entries [i].option->name, name, size) == 0)
            return &flat->entries [i];
    return NULL;
}

static s_entry_t *
s_find_short (s_flat_t *flat, char letter)
{
    for (size_t i = 0; i < flat->count; i++)
        if (letter && flat->entries [i].option->short_name == letter)
            return &flat->entries [i];
    return NULL;
}

//  The settings files read, kept to the end: the settings borrow their strings.
static json_t *s_files;

static void
s_files_free (void)
{
    json_decref (s_files);
    s_files = NULL;
}

//  One value of a settings file as the text its option parses, into text
//  (or, for a string, the string itself in *borrowed). -1 with err when
//  it is not of a type the option takes.
static int
s_file_text (const s_entry_t *entry, json_t *value, const char *where, char *text, size_t size,
             const char **borrowed, mesh_error_t *err)
{
    const mesh_option_t *option = entry->option;
    *borrowed = NULL;
    switch (option->type) {
        case MESH_OPTION_STRING:
            if (!json_is_string (value))
                return mesh_error_set (err, MESH_EINVAL, "%s: expected a string", where);
            *borrowed = json_string_value (value);
            return 0;
        case MESH_OPTION_BOOL:
            if (!json_is_boolean (value))
                return mesh_error_set (err, MESH_EINVAL, "%s: expected true or false", where);
            snprintf (text, size, "%s", json_is_true (value)? "1": "0");
            return 0;
        case MESH_OPTION_DOUBLE:
            if (!json_is_number (value))
                return mesh_error_set (err, MESH_EINVAL, "%s: expected a number", where);
            snprintf (text, size, "%.17g", json_number_value (value));
            return 0;
        default:
            if (!json_is_integer (value))
                return mesh_error_set (err, MESH_EINVAL, "%s: expected an integer", where);
            snprintf (text, size, "%lld", (long long) json_integer_value (value));
            return 0;
    }
}

//  Read the settings file at path into values (one per flat entry, NULL
//  where the file says nothing). 0, or -1 with err.
static int
s_read_file (s_flat_t *flat, const char *path, json_t **values, mesh_error_t *err)
{
    json_error_t json_err;
    json_t *root = json_load_file (path, JSON_REJECT_DUPLICATES, &json_err);
    if (!root) {
        if (json_err.line < 0)
            return mesh_error_set (err, MESH_EIO, "%s: %s", path, json_err.text);
        return mesh_error_set (err, MESH_EINVAL, "%s: line %d, column %d: %s", path, json_err.line,
                               json_err.column, json_err.text);
    }
    if (!s_files) {
        s_files = json_array ();
        atexit (s_files_free);
    }
    json_array_append_new (s_files, root);
    if (!json_is_object (root))
        return mesh_error_set (err, MESH_EINVAL, "%s: a settings file is one JSON object, "
                               "{\"option\": value, ...}", path);
    const char *key;
    json_t *value;
    json_object_foreach (root, key, value) {
        s_entry_t *entry = s_find_long (flat, key, strlen (key));
        if (!entry || entry->option->type == MESH_OPTION_FILE) {
            const char *guess = entry? NULL: s_suggest (flat, key, strlen (key));
            if (guess)
                return mesh_error_set (err, MESH_EINVAL, "%s: unknown key '%s' (did you mean '%s'?)", path,
                                       key, guess);
            return mesh_error_set (err, MESH_EINVAL, "%s: unknown key '%s' (its keys are the options "
                                   "--help lists, without their dashes)", path, key);
        }
        values [entry - flat->entries] = value;
    }
    return 0;
}

//  A settings file's value for entry: each of an array's strings for a
//  repeatable option, else the one value.
static int
s_set_from_file (const s_entry_t *entry, void *settings, json_t *value, const char *path, mesh_error_t *err)
{
    char where [256];
    snprintf (where, sizeof (where), "%s: '%s'", path, entry->option->name);
    if (entry->option->type == MESH_OPTION_LIST) {
        if (!json_is_array (value))
            return mesh_error_set (err, MESH_EINVAL, "%s: expected an array of strings", where);
        for (size_t i = 0; i < json_array_size (value); i++) {
            json_t *item = json_array_get (value, i);
            if (!json_is_string (item))
                return mesh_error_set (err, MESH_EINVAL, "%s: expected an array of strings", where);
            if (s_set (entry, settings, json_string_value (item), where, err))
                return -1;
        }
        return 0;
    }
    char text [64];
    const char *borrowed;
    if (s_file_text (entry, value, where, text, sizeof (text), &borrowed, err))
        return -1;
    if (borrowed)
        return s_set (entry, settings, borrowed, where, err);
    //  A number or a boolean: its text lives in the file's tree too
    json_t *kept = json_string (text);
    json_array_append_new (s_files, kept);
    return s_set (entry, settings, json_string_value (kept), where, err);
}

int
mesh_options_parse (const mesh_options_t *self, int argc, char *const *argv, void *settings,
                    mesh_error_t *err)
{
    assert (self);
    assert (settings);
    s_flat_t flat = { .count = 0 };
    s_flatten (&flat, self->options, 0);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv [i];
        if (strcmp (arg, "--help") == 0 || strcmp (arg, "-h") == 0)
            return MESH_OPTIONS_HELP;
        bool is_long = strncmp (arg, "--", 2) == 0 && arg [2];
        bool is_short = arg [0] == '-' && arg [1] && arg [1] != '-';
        if (strcmp (arg, "--") == 0) {
            if (i + 1 < argc)
                return mesh_error_set (err, MESH_EINVAL, "unexpected argument '%s' (see %s --help)",
                                       argv [i + 1], self->program);
            break;
        }
        if (!is_long && !is_short)
            return mesh_error_set (err, MESH_EINVAL, "unexpected argument '%s' (see %s --help)",
                                   arg, self->program);
        s_entry_t *entry;
        const char *value = NULL;
        if (is_long) {
            const char *name = arg + 2;
            const char *equals = strchr (name, '=');
            size_t size = equals? (size_t) (equals - name): strlen (name);
            entry = s_find_long (&flat, name, size);
            if (!entry) {
                const char *guess = s_suggest (&flat, name, size);
                if (guess)
                    return mesh_error_set (err, MESH_EINVAL, "unknown argument '%.*s' (did you mean --%s?)",
                                           (int) size + 2, arg, guess);
                return mesh_error_set (err, MESH_EINVAL, "unknown argument '%.*s' (see %s --help)",
                                       (int) size + 2, arg, self->program);
            }
            if (equals)
                value = equals + 1;
        }
        else {
            entry = s_find_short (&flat, arg [1]);
            if (!entry)
                return mesh_error_set (err, MESH_EINVAL, "unknown argument '-%c' (see %s --help)",
                                       arg [1], self->program);
            if (arg [2])
                value = arg + 2;
        }
        const mesh_option_t *option = entry->option;
        char source [80];
        snprintf (source, sizeof (source), "--%s", option->name);
        if (option->type == MESH_OPTION_BOOL) {
            if (value)
                return mesh_error_set (err, MESH_EINVAL, "%s takes no value, got '%s'", source, value);
            *(bool *) ((char *) settings + entry->offset) = true;
            entry->given = true;
            continue;
        }
        if (!value) {
            if (i + 1 >= argc)
                return mesh_error_set (err, MESH_EINVAL, "%s needs a value (%s)", source,
                                       option->value_name? option->value_name: "see --help");
            value = argv [++i];
        }
        if (s_set (entry, settings, value, source, err))
            return -1;
        entry->given = true;
    }
    //  A settings file, from its flag or its variable, read before the rest
    json_t *from_file [S_ENTRIES_MAX] = { NULL };
    const char *file = NULL;
    for (size_t i = 0; i < flat.count; i++) {
        const s_entry_t *entry = &flat.entries [i];
        if (entry->option->type != MESH_OPTION_FILE)
            continue;
        file = entry->given? *(const char **) ((char *) settings + entry->offset)
             : entry->option->env && getenv (entry->option->env) && *getenv (entry->option->env)
             ? getenv (entry->option->env): NULL;
        if (file && *file && s_read_file (&flat, file, from_file, err))
            return -1;
    }
    //  What the command line did not say: the environment, the file, then the default
    for (size_t i = 0; i < flat.count; i++) {
        const s_entry_t *entry = &flat.entries [i];
        if (entry->given)
            continue;
        const char *value = entry->option->env? getenv (entry->option->env): NULL;
        if (value && *value) {
            char source [128];
            snprintf (source, sizeof (source), "--%s (from %s)", entry->option->name, entry->option->env);
            if (s_set (entry, settings, value, source, err))
                return -1;
        }
        else
        if (from_file [i]) {
            if (s_set_from_file (entry, settings, from_file [i], file, err))
                return -1;
        }
        else
        if (entry->option->type == MESH_OPTION_FILE && file)
            *(const char **) ((char *) settings + entry->offset) = file;
        else
        if (entry->option->fallback) {
            int rc = s_set (entry, settings, entry->option->fallback, entry->option->name, err);
            assert (rc == 0);           //  a default that does not parse is a bug in the table
            (void) rc;
        }
    }
    return 0;
}

int
mesh_options_main (const mesh_options_t *self, int argc, char *const *argv, void *settings,
                   FILE *out, FILE *errors, int failure)
{
    mesh_error_t err = { 0 };
    int rc = mesh_options_parse (self, argc, argv, settings, &err);
    if (rc == MESH_OPTIONS_HELP) {
        char *help = mesh_options_help (self);
        fputs (help? help: "", out);
        free (help);
        return 0;
    }
    if (rc) {
        fprintf (errors, "%s: %s\n", self->program, err.text);
        return failure;
    }
    return -1;
}

char *
mesh_options_help (const mesh_options_t *self)
{
    assert (self);
    s_flat_t flat = { .count = 0 };
    s_flatten (&flat, self->options, 0);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    if (!out)
        return NULL;
    fprintf (out, "%s\n", self->usage);
    if (self->about)
        fprintf (out, "\n%s\n", self->about);
    bool with_file = false;
    for (size_t i = 0; i < flat.count; i++)
        with_file |= flat.entries [i].option->type == MESH_OPTION_FILE;
    fprintf (out, "\noptions (flag, then environment variable, %sthen default):\n",
             with_file? "then settings file, ": "");
    static const mesh_option_t help = { "help", 'h', NULL, MESH_OPTION_BOOL, 0, 0, NULL, NULL, "this text", 0, NULL };
    for (size_t i = 0; i <= flat.count; i++) {
        const mesh_option_t *option = i < flat.count? flat.entries [i].option: &help;
        char left [128];
        int n = snprintf (left, sizeof (left), "  %c%c%s--%s", option->short_name? '-': ' ',
                          option->short_name? option->short_name: ' ', option->short_name? ", ": "  ",
                          option->name);
        if (option->type != MESH_OPTION_BOOL && n > 0 && (size_t) n < sizeof (left))
            snprintf (left + n, sizeof (left) - (size_t) n, " %s", option->value_name? option->value_name: "VALUE");
        if (strlen (left) + 2 <= S_HELP_COLUMN)
            fprintf (out, "%-*s", S_HELP_COLUMN, left);
        else
            fprintf (out, "%s\n%*s", left, S_HELP_COLUMN, "");
        //  A help text of several lines: each under the first
        for (const char *line = option->help; line; ) {
            const char *end = strchr (line, '\n');
            fprintf (out, "%.*s\n", end? (int) (end - line): (int) strlen (line), line);
            line = end? end + 1: NULL;
            if (line)
                fprintf (out, "%*s", S_HELP_COLUMN, "");
        }
        //  Where else the value can come from, and what it may be
        char details [256] = "";
        size_t used = 0;
        if (option->env)
            used += (size_t) snprintf (details + used, sizeof (details) - used, "%s", option->env);
        bool number = option->type >= MESH_OPTION_INT && option->type <= MESH_OPTION_DOUBLE;
        if (number && !(option->min == 0 && option->max == 0)) {
            char bounds [96];
            s_bounds (option, bounds, sizeof (bounds), false);
            used += (size_t) snprintf (details + used, sizeof (details) - used, "%s%s", used? "; ": "", bounds);
        }
        if (option->fallback && used < sizeof (details))
            used += (size_t) snprintf (details + used, sizeof (details) - used, "%sdefault: %s",
                                       used? "; ": "", *option->fallback? option->fallback: "none");
        if (used)
            fprintf (out, "%*s[%s]\n", S_HELP_COLUMN, "", details);
    }
    if (self->epilog)
        fprintf (out, "\n%s", self->epilog);
    fclose (out);
    return text;
}

char *
mesh_options_text (const char *arg, size_t *size, mesh_error_t *err)
{
    assert (arg);
    assert (size);
    if (arg [0] != '@') {
        *size = strlen (arg);
        char *copy = strdup (arg);
        if (!copy)
            mesh_error_set (err, MESH_ENOMEM, "out of memory");
        return copy;
    }
    const char *path = arg + 1;
    bool from_stdin = strcmp (path, "-") == 0;
    FILE *file = from_stdin? stdin: fopen (path, "rb");
    if (!file) {
        mesh_error_set (err, MESH_EIO, "cannot open '%s': %s", path, strerror (errno));
        return NULL;
    }
    char *text = NULL;
    size_t capacity = 0;
    *size = 0;
    while (true) {
        if (*size + 4096 + 1 > capacity) {
            capacity = capacity? capacity * 2: 8192;
            char *grown = (char *) realloc (text, capacity);
            if (!grown) {
                free (text);
                text = NULL;
                break;
            }
            text = grown;
        }
        size_t got = fread (text + *size, 1, capacity - *size - 1, file);
        *size += got;
        if (got == 0)
            break;
    }
    bool failed = !text || ferror (file);
    int error = errno;
    if (!from_stdin)
        fclose (file);
    if (failed) {
        mesh_error_set (err, text? MESH_EIO: MESH_ENOMEM, "cannot read '%s': %s", path,
                        text? strerror (error): "out of memory");
        free (text);
        return NULL;
    }
    text [*size] = '\0';
    return text;
}
