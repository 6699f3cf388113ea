// io_uring does file and socket I/O without a syscall per operation: IORING_OP_OPENAT of the plain
// host path of a canary, OPENAT creating a host file, SOCKET+CONNECT to TCP under
// --network=none. It must be refused or confined.
#include <linux/io_uring.h>

#include "probe.h"

struct ring {
  int fd;
  unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
  struct io_uring_sqe* sqes;
  struct io_uring_cqe* cqes;
};

static int setup(struct ring* r) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  r->fd = (int)syscall(SYS_io_uring_setup, 8, &p);
  ATT(r->fd, "io_uring_setup");
  if (r->fd < 0) return -1;
  size_t sqsz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cqsz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  char* sq =
      mmap(0, sqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
  char* cq =
      mmap(0, cqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_CQ_RING);
  r->sqes = mmap(0, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
  if (sq == MAP_FAILED || cq == MAP_FAILED || r->sqes == MAP_FAILED)
    return ATT(-1, "io_uring mmap");
  r->sq_tail = (unsigned*)(sq + p.sq_off.tail);
  r->sq_mask = (unsigned*)(sq + p.sq_off.ring_mask);
  r->sq_array = (unsigned*)(sq + p.sq_off.array);
  r->cq_head = (unsigned*)(cq + p.cq_off.head);
  r->cq_tail = (unsigned*)(cq + p.cq_off.tail);
  r->cq_mask = (unsigned*)(cq + p.cq_off.ring_mask);
  r->cqes = (struct io_uring_cqe*)(cq + p.cq_off.cqes);
  return 0;
}

static int submit(struct ring* r, struct io_uring_sqe* sqe, const char* what) {
  unsigned tail = *r->sq_tail, idx = tail & *r->sq_mask;
  r->sqes[idx] = *sqe;
  r->sq_array[idx] = idx;
  __atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
  long rc = syscall(SYS_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0);
  ATT(rc, "io_uring_enter(%s)", what);
  unsigned head = *r->cq_head;
  if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE)) return -1;
  int res = r->cqes[head & *r->cq_mask].res;
  __atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
  if (res < 0) errno = -res;
  ATT(res < 0 ? -1 : res, "io_uring %s result", what);
  return res;
}

int main(void) {
  p_start();
  char* secret = p_strf("%s/host/secret.txt", T());
  char* created = p_strf("%s/host/ocib-esc-%s-io_uring", T(), nonce());
  struct ring r;
  if (setup(&r) == 0) {
    struct io_uring_sqe s;
    memset(&s, 0, sizeof s);
    s.opcode = IORING_OP_OPENAT;
    s.fd = AT_FDCWD;
    s.addr = (unsigned long)secret;
    s.open_flags = O_RDONLY;
    int fd = submit(&r, &s, "OPENAT host secret");
    if (fd >= 0) loot_fd("io_uring openat", fd);
    memset(&s, 0, sizeof s);
    s.opcode = IORING_OP_OPENAT;
    s.fd = AT_FDCWD;
    s.addr = (unsigned long)created;
    s.open_flags = O_CREAT | O_WRONLY;
    s.len = 0644;
    submit(&r, &s, "OPENAT create host file");
    memset(&s, 0, sizeof s);
    s.opcode = IORING_OP_SOCKET;
    s.fd = AF_INET;
    s.off = SOCK_STREAM;
    int sock = submit(&r, &s, "SOCKET AF_INET");
    long port = hint_long("TCP");
    if (sock >= 0 && port > 0) {
      struct sockaddr_in a;
      memset(&a, 0, sizeof a);
      a.sin_family = AF_INET;
      a.sin_port = htons((uint16_t)port);
      a.sin_addr.s_addr = htonl(0x7f000001);
      memset(&s, 0, sizeof s);
      s.opcode = IORING_OP_CONNECT;
      s.fd = sock;
      s.addr = (unsigned long)&a;
      s.off = sizeof a;
      if (submit(&r, &s, "CONNECT 127.0.0.1") == 0) p_escape("io_uring TCP connect");
    }
  }
  p_end();
}
