/*  mesh_ip.h: IP address literals, as event-ruler reads them

    Private to libmesh. The pattern compiler parses a cidr's address with
    it, and the interpreter and the explainer the events' strings, so both
    sides agree on what an address is.
*/
#ifndef MESH_IP_H_INCLUDED
#define MESH_IP_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

//  Parse the size bytes at text as an IPv4 or IPv6 address into bytes (4
//  or 16, *bytes_size says which). Returns 0; -1 if the text does not even
//  look like an address ("Nonstandard IP address"); -2 if it looks like one
//  but is not valid ("Invalid IP address").
int
    mesh__ip_parse (const char *text, size_t size, uint8_t bytes [16], size_t *bytes_size);

#endif
