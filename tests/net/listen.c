/* A static tcp helper bound into test containers (the tree has no netcat):
 *   listen PORT TEXT   accept connections forever, answer TEXT to each
 *   once PORT TEXT     answer one connection, then exit
 *   connect ADDR PORT  print what the server says
 *   scan PORT          find a server on PORT in host0's /24 (.2 to .40, not
 *                      ourselves), retrying for 60s; print its answer
 *   ifaces             print the names of the network interfaces */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int do_listen(int port, const char *text, int once)
{
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
        int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
            bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 16) < 0) {
                perror("listen");
                return 1;
        }
        printf("listening\n");
        fflush(stdout);
        for (;;) {
                int c = accept(s, NULL, NULL);
                if (c < 0)
                        continue;
                if (write(c, text, strlen(text)) < 0 || write(c, "\n", 1) < 0)
                        perror("write");
                close(c);
                if (once)
                        return 0;
        }
}

static int do_connect(const char *addr, int port)
{
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
        char buf[4096];
        ssize_t n;
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1 ||
            connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                perror("connect");
                return 1;
        }
        while ((n = read(s, buf, sizeof(buf))) > 0)
                fwrite(buf, 1, (size_t)n, stdout);
        return n < 0;
}

static int do_scan(int port)
{
        struct ifaddrs *ifa, *i;
        uint32_t self = 0;
        if (getifaddrs(&ifa) < 0)
                return 1;
        for (i = ifa; i; i = i->ifa_next)
                if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
                    strcmp(i->ifa_name, "host0") == 0)
                        self = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
        freeifaddrs(ifa);
        if (!self) {
                fprintf(stderr, "no IPv4 address on host0\n");
                return 1;
        }
        for (int tries = 0; tries < 600; tries++) {
                for (uint32_t h = 2; h <= 40; h++) {
                        uint32_t a = (self & 0xffffff00u) | h;
                        struct sockaddr_in sa = { .sin_family = AF_INET,
                                                  .sin_port = htons((uint16_t)port),
                                                  .sin_addr.s_addr = htonl(a) };
                        char buf[4096];
                        ssize_t n;
                        if (a == self)
                                continue;
                        int s = socket(AF_INET, SOCK_STREAM, 0);
                        if (s < 0)
                                return 1;
                        if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
                                while ((n = read(s, buf, sizeof(buf))) > 0)
                                        fwrite(buf, 1, (size_t)n, stdout);
                                return 0;
                        }
                        close(s);
                }
                usleep(100000);
        }
        fprintf(stderr, "no server found\n");
        return 1;
}

static int do_ifaces(void)
{
        struct ifaddrs *ifa, *i;
        if (getifaddrs(&ifa) < 0)
                return 1;
        for (i = ifa; i; i = i->ifa_next)
                if (i->ifa_addr && i->ifa_addr->sa_family == AF_PACKET)
                        printf("%s\n", i->ifa_name);
        freeifaddrs(ifa);
        return 0;
}

int main(int argc, char **argv)
{
        if (argc == 4 && strcmp(argv[1], "listen") == 0 && strcmp(argv[2], "") != 0)
                return do_listen(atoi(argv[2]), argv[3], 0);
        if (argc == 4 && strcmp(argv[1], "once") == 0)
                return do_listen(atoi(argv[2]), argv[3], 1);
        if (argc == 3 && strcmp(argv[1], "scan") == 0)
                return do_scan(atoi(argv[2]));
        if (argc == 4 && strcmp(argv[1], "connect") == 0)
                return do_connect(argv[2], atoi(argv[3]));
        if (argc == 2 && strcmp(argv[1], "ifaces") == 0)
                return do_ifaces();
        fprintf(stderr, "usage: listen|once PORT TEXT | connect ADDR PORT | scan PORT | ifaces\n");
        return 2;
}
