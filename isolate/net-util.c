/* isolate: the pure part of the network: --port parsing and the link-local
 * address pool's arithmetic (which slot is which /30 or group /24). */
#include <arpa/inet.h>
#include <string.h>

#include "isolate-internal.h"

static int parse_port(const char *s, size_t len, uint16_t *ret)
{
        unsigned long v = 0;
        if (len == 0 || len > 5)
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned long)(s[i] - '0');
        }
        if (v == 0 || v > 65535)
                return -EINVAL;
        *ret = (uint16_t)v;
        return 0;
}

int isolate_port_parse(const char *s, IsolatePort *ret)
{
        IsolatePort p;
        const char *colon = s ? strchr(s, ':') : NULL;
        if (!colon)
                return s && parse_port(s, strlen(s), &p.host) >= 0
                               ? (p.container = p.host, *ret = p, 0)
                               : -EINVAL;
        if (parse_port(s, (size_t)(colon - s), &p.host) < 0 ||
            parse_port(colon + 1, strlen(colon + 1), &p.container) < 0)
                return -EINVAL;
        *ret = p;
        return 0;
}

/* Single veth /30s live in 169.254.1.0 .. 169.254.127.255 (64 per /24);
 * groups get a /24 each in 169.254.128.0 .. 169.254.254.255. 169.254.0.0/24
 * and 169.254.255.0/24 are reserved by RFC 3927 and never used. */
int isolate_net_slot_addrs(unsigned slot, uint32_t *ret_host, uint32_t *ret_container)
{
        if (slot >= ISOLATE_NET_SLOTS)
                return -ERANGE;
        uint32_t base =
                (169u << 24) | (254u << 16) | ((1u + slot / 64u) << 8) | ((slot % 64u) * 4u);
        *ret_host = base + 1;
        *ret_container = base + 2;
        return 0;
}

int isolate_net_group_addrs(unsigned group, unsigned member, uint32_t *ret_bridge,
                            uint32_t *ret_member)
{
        if (group >= ISOLATE_NET_GROUPS || member >= ISOLATE_NET_GROUP_MEMBERS)
                return -ERANGE;
        uint32_t base = (169u << 24) | (254u << 16) | ((128u + group) << 8);
        *ret_bridge = base + 1;
        *ret_member = base + 2 + member;
        return 0;
}

int isolate_net_format_addr(uint32_t addr, char *buf, size_t size)
{
        struct in_addr a = { .s_addr = htonl(addr) };
        return inet_ntop(AF_INET, &a, buf, (socklen_t)size) ? 0 : -ENOSPC;
}
