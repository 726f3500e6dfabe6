/*  mesh_ip.c: IP address literals, as event-ruler reads them

    What "looks like" an address is Ruler's test, so host names are never
    resolved; the address itself is read by inet_pton. See mesh_ip.h.
*/
#include <stdbool.h>
#include <string.h>
#include <arpa/inet.h>
#include "mesh_ip.h"

//  Parse an IP address literal into bytes (4 or 16). Returns 0, -1 if the
//  text does not even look like one ("Nonstandard IP address"), or -2 if it
//  looks like one but is not valid ("Invalid IP address"). The "looks like"
//  test is Ruler's: four dot-separated digit runs, or hex digits and colons
//  with at least one colon, so host names are never resolved.
int
mesh__ip_parse (const char *text, size_t size, uint8_t bytes [16], size_t *bytes_size)
{
    bool v4 = size > 0;
    int dots = 0;
    size_t digits = 0;
    for (size_t i = 0; i < size && v4; i++) {
        if (text [i] >= '0' && text [i] <= '9')
            digits++;
        else
        if (text [i] == '.' && digits > 0 && dots < 3) {
            dots++;
            digits = 0;
        }
        else
            v4 = false;
    }
    v4 = v4 && dots == 3 && digits > 0;

    bool v6 = !v4;
    bool colon = false;
    for (size_t i = 0; i < size && v6; i++) {
        char c = text [i];
        if (c == ':')
            colon = true;
        else
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            v6 = false;
    }
    v6 = v6 && colon;
    if (!v4 && !v6)
        return -1;

    char copy [INET6_ADDRSTRLEN + 1];
    if (size >= sizeof (copy))
        return -2;
    memcpy (copy, text, size);
    copy [size] = '\0';
    if (inet_pton (v4? AF_INET: AF_INET6, copy, bytes) != 1)
        return -2;
    *bytes_size = v4? 4: 16;
    return 0;
}


