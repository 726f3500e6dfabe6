/*  mesh_flags.c: the options the mesh binaries share

    Defaults come from the constants of the modules the options configure,
    so a changed default changes every binary's --help with it.
*/
#include <math.h>
#include <stddef.h>
#include "mesh_private.h"

#define S_TEXT(x) S_TEXT_ (x)
#define S_TEXT_(x) #x

const mesh_option_t mesh_flags_rule_options [] = {
    { "max-pattern-size", 0, "MESH_MAX_PATTERN_SIZE", MESH_OPTION_SIZE, 2, 1 << 24,
      S_TEXT (MESH_PATTERN_MAX_SIZE_DEFAULT), "BYTES",
      "longest event pattern accepted, bytes (EventBridge: 4096)",
      offsetof (mesh_rule_options_t, max_pattern_size), NULL },
    { "max-wildcard-complexity", 0, "MESH_MAX_WILDCARD_COMPLEXITY", MESH_OPTION_INT, 0, 1000000,
      S_TEXT (MESH_WILDCARD_COMPLEXITY_DEFAULT), "N",
      "highest wildcard complexity score accepted; 0: no limit",
      offsetof (mesh_rule_options_t, max_wildcard_complexity), NULL },
    { 0 }
};

const mesh_option_t mesh_flags_ingest [] = {
    { "ingest", 0, "MESH_INGEST", MESH_OPTION_STRING, 0, 0, MESH_INGEST_DEFAULT, "EP",
      "the broker's ingest endpoint (XSUB: the broker binds, publishers connect)", 0, NULL },
    { 0 }
};

const mesh_option_t mesh_flags_deliver [] = {
    { "deliver", 0, "MESH_DELIVER", MESH_OPTION_STRING, 0, 0, MESH_DELIVER_DEFAULT, "EP",
      "the broker's deliver endpoint (XPUB: the broker binds, subscribers connect)", 0, NULL },
    { 0 }
};

const mesh_option_t mesh_flags_api [] = {
    { "api", 0, "MESH_API", MESH_OPTION_STRING, 0, 0, MESH_API_DEFAULT, "EP",
      "the broker's API endpoint (ROUTER: the broker binds, mesh and other clients connect)", 0, NULL },
    { 0 }
};

const mesh_option_t mesh_flags_monitor [] = {
    { "monitor", 0, "MESH_MONITOR", MESH_OPTION_BOOL, 0, 0, NULL, NULL,
      "print this process's ZeroMQ socket monitor events (connected, disconnected,\n"
      "handshakes) to stderr, a line each", 0, NULL },
    { 0 }
};

const mesh_option_t mesh_flags_connect_timeout [] = {
    { "connect-timeout", 0, "MESH_CONNECT_TIMEOUT", MESH_OPTION_INT, -1, INFINITY, "5000", "MS",
      "how long to wait for the broker, ms; -1: forever", 0, NULL },
    { 0 }
};
