// When ocibuild itself runs as root, the step's fake root must not turn into real capabilities.
// Each call below is harmless as issued (bad magic, a missing file, an invalid interface index,
// open without write) but tells whether it passed the kernel's capability check: any answer other
// than EPERM/EACCES/ENOSYS is an escape. Unprivileged, the kernel refuses them all by itself.
#include <linux/netlink.h>
#include <linux/reboot.h>
#include <linux/rtnetlink.h>
#include <sys/io.h>
#include <sys/klog.h>
#include <sys/swap.h>

#include "probe.h"

static void judge(const char* what, long rc) {
  int e = errno;
  ATT(rc, "%s", what);
  if (rc >= 0 || (e != EPERM && e != EACCES && e != ENOSYS && e != EROFS))
    p_escape("%s passed the capability check (%s)", what, rc >= 0 ? "OK" : p_err(e));
}

int main(void) {
  p_start();
  errno = 0;
  judge("reboot(bad magic)", syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, 0x12345678, 0, NULL));
  errno = 0;
  judge("init_module(NULL)", syscall(SYS_init_module, NULL, 0, ""));
  judge("delete_module(ocib-none)",
        syscall(SYS_delete_module, "ocib-nonexistent-module", O_NONBLOCK));
  judge("finit_module(-1)", syscall(SYS_finit_module, -1, "", 0));
  judge("kexec_file_load(-1)", syscall(SYS_kexec_file_load, -1, -1, 0, "", 0));
  judge("swapoff(missing)", swapoff("/ocib-nonexistent-swap"));
  judge("syslog(SIZE_BUFFER)", klogctl(10, NULL, 0));
  judge("ioperm(0x80)", ioperm(0x80, 1, 1));
  ioperm(0x80, 1, 0);
  judge("pivot_root(missing)", syscall(SYS_pivot_root, "/ocib-none-a", "/ocib-none-b"));
  judge("settimeofday(NULL, NULL)", syscall(SYS_settimeofday, NULL, NULL));
  // A missing file says nothing about privileges.
  int fd = open("/proc/sysrq-trigger", O_WRONLY);
  if (fd >= 0 || errno != ENOENT)
    judge("open(/proc/sysrq-trigger, O_WRONLY)", fd);
  else
    ATT(fd, "open(/proc/sysrq-trigger, O_WRONLY)");
  if (fd >= 0) close(fd);
  // rtnetlink: every non-GET message needs CAP_NET_ADMIN before it is looked at.
  int nl = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
  if (nl >= 0) {
    struct {
      struct nlmsghdr h;
      struct ifinfomsg i;
    } req;
    memset(&req, 0, sizeof req);
    req.h.nlmsg_len = sizeof req;
    req.h.nlmsg_type = RTM_SETLINK;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    req.i.ifi_index = 0x7ffffff0;
    send(nl, &req, sizeof req, 0);
    char buf[4096];
    struct timeval tv = {1, 0};
    setsockopt(nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t n = recv(nl, buf, sizeof buf, 0);
    struct nlmsghdr* h = (struct nlmsghdr*)buf;
    if (n > 0 && h->nlmsg_type == NLMSG_ERROR) {
      int err = -((struct nlmsgerr*)NLMSG_DATA(h))->error;
      errno = err;
      judge("rtnetlink RTM_SETLINK(bogus ifindex)", err ? -1 : 0);
    }
  }
  // Raw sockets and low ports are what a container's root gets by default: reported only.
  ATT(socket(AF_INET, SOCK_RAW, 1), "socket(AF_INET, RAW)");
  p_end();
}
