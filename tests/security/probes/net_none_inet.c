// --network=none (every probe runs with it): no IPv4/IPv6 socket may reach the harness's
// listeners on 127.0.0.1 (TCP and UDP) — by connect, sendto, IPv4-mapped IPv6, raw and packet
// sockets. AF_NETLINK route dumps show the host's interfaces (reported, not judged). Control:
// AF_UNIX socketpair works.
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>

#include "probe.h"

int main(void) {
  p_start();
  int sp[2];
  p_control(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0, "socketpair(AF_UNIX)", "%s",
            p_err(errno));
  long tcp = hint_long("TCP"), udp = hint_long("UDP");
  if (tcp > 0) try_tcp_connect("AF_INET", (int)tcp);
  int s6 = socket(AF_INET6, SOCK_STREAM, 0);
  ATT(s6, "socket(AF_INET6, STREAM)");
  if (s6 >= 0 && tcp > 0) {
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons((uint16_t)tcp);
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &a.sin6_addr);
    if (ATT(connect(s6, (struct sockaddr*)&a, sizeof a), "connect([::ffff:127.0.0.1]:%ld)", tcp) ==
        0)
      p_escape("IPv6-mapped TCP connection");
  }
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  ATT(u, "socket(AF_INET, DGRAM)");
  if (u >= 0 && udp > 0) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)udp);
    a.sin_addr.s_addr = htonl(0x7f000001);
    ATT(sendto(u, "ocib-udp", 8, 0, (struct sockaddr*)&a, sizeof a), "sendto(127.0.0.1:%ld)", udp);
  }
  ATT(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), "socket(AF_INET, RAW, ICMP)");
  ATT(socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP), "socket(AF_INET, DGRAM, ICMP) (ping)");
  ATT(socket(AF_PACKET, SOCK_RAW, 0), "socket(AF_PACKET, RAW)");
  ATT(socket(AF_INET6, SOCK_DGRAM, 0), "socket(AF_INET6, DGRAM)");
  int nl = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
  ATT(nl, "socket(AF_NETLINK, ROUTE)");
  if (nl >= 0) {
    struct {
      struct nlmsghdr h;
      struct ifinfomsg i;
    } req;
    memset(&req, 0, sizeof req);
    req.h.nlmsg_len = sizeof req;
    req.h.nlmsg_type = RTM_GETLINK;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    send(nl, &req, sizeof req, 0);
    char buf[16384];
    ssize_t n = recv(nl, buf, sizeof buf, MSG_DONTWAIT);
    int links = 0;
    for (struct nlmsghdr* h = (struct nlmsghdr*)buf; n > 0 && NLMSG_OK(h, (size_t)n);
         h = NLMSG_NEXT(h, n))
      if (h->nlmsg_type == RTM_NEWLINK) ++links;
    p_line("ATTEMPT", "netlink RTM_GETLINK: %d interfaces visible", links);
  }
  int diag = socket(AF_NETLINK, SOCK_RAW, 4 /*NETLINK_SOCK_DIAG*/);
  ATT(diag, "socket(AF_NETLINK, SOCK_DIAG) (lists the host's TCP sockets)");
  p_end();
}
