#include "builder/sandbox/seccomp_policy.h"

#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "util/fd.h"

namespace ocibuild::sandbox {
namespace {

// Highest syscall number we classify; anything above is traced (and refused by the tracer).
constexpr long kMaxKnownNr = 470;

// Syscalls that touch no path and no identity: they run at full speed.
// Not here, although they take no path: getdents/getdents64 (d_type of faked devices), sendmsg,
// recvmsg, recvfrom, getsockname, getpeername (AF_UNIX addresses hold host paths),
// sched_{get,set}affinity (the step may be packed on one CPU: see cpu_packing.h).
constexpr long kAllow[] = {
    0,   1,   3,   7,   8,   9,   10,  11,  12,  13,  14,  15,  16,  17,  18,  19,  20,  22,
    23,  24,  25,  26,  27,  28,  29,  30,  31,  32,  33,  34,  35,  36,  37,  38,  39,  40,
    41,  43,  48,  50,  53,  54,  55,  56,  57,  58,  60,  61,  62,  63,  64,  65,  66,  67,
    68,  69,  70,  71,  72,  73,  77,  81,  95,  96,  97,  98,  99,  100, 109, 110, 111, 112,
    121, 124, 127, 128, 129, 130, 131, 135, 138, 140, 141, 142, 143, 144, 145, 146, 147, 148,
    149, 150, 151, 152, 154, 158, 160, 186, 187, 200, 201, 202, 205, 206, 207, 208,
    209, 210, 211, 213, 216, 218, 219, 220, 221, 222, 223, 224, 225, 226, 228, 229, 230, 231,
    232, 233, 234, 237, 238, 239, 240, 241, 242, 243, 244, 245, 247, 248, 249, 250, 251, 252,
    253, 255, 256, 270, 271, 273, 274, 275, 276, 278, 279, 281, 282, 283, 284, 285, 286, 287,
    288, 289, 290, 291, 292, 293, 294, 295, 296, 297, 299, 302, 307, 309, 310, 311, 312, 314,
    315, 317, 318, 319, 324, 325, 326, 327, 328, 329, 330, 331, 333, 334, 424, 434, 435, 436,
    438, 440, 441, 447, 448, 449, 450, 451, 453, 454, 455, 456, 462};

// Durability is the snapshot's job: fsync & co. succeed without I/O.
constexpr long kNoop[] = {74 /*fsync*/, 75 /*fdatasync*/, 162 /*sync*/, 277 /*sync_file_range*/,
                          306 /*syncfs*/};

// Things a build step has no business doing, or that would bypass path translation. EPERM where
// an unprivileged root-in-container would see EPERM, ENOSYS where callers have a fallback.
struct Refusal {
  long nr;
  int err;
};
constexpr Refusal kRefuse[] = {
    {101, EPERM},  // ptrace: we are the tracer
    {103, EPERM},
    {134, ENOSYS},
    {136, ENOSYS},
    {139, ENOSYS},
    {153, EPERM},
    {155, EPERM},
    {156, ENOSYS},
    {159, EPERM},
    {163, EPERM},
    {164, EPERM},
    {165, EPERM},
    {166, EPERM},
    {167, EPERM},
    {168, EPERM},
    {169, EPERM},
    {170, EPERM},
    {171, EPERM},
    {172, EPERM},
    {173, EPERM},
    {174, ENOSYS},
    {175, EPERM},
    {176, EPERM},
    {177, ENOSYS},
    {178, ENOSYS},
    {179, EPERM},
    {180, ENOSYS},
    {181, ENOSYS},
    {182, ENOSYS},
    {183, ENOSYS},
    {184, ENOSYS},
    {185, ENOSYS},
    {212, ENOSYS},
    {214, ENOSYS},
    {215, ENOSYS},
    {227, EPERM},
    {236, ENOSYS},
    {246, EPERM},
    {298, ENOSYS},
    {300, EPERM},
    {301, EPERM},
    {303, EOPNOTSUPP},  // name_to_handle_at: handles would bypass translation
    {304, EPERM},
    {305, EPERM},
    {308, EPERM},
    {313, EPERM},
    {320, EPERM},
    {321, EPERM},
    {323, ENOSYS},
    // io_uring does file I/O without a syscall per operation: it would escape translation.
    {425, ENOSYS},
    {426, ENOSYS},
    {427, ENOSYS},
    // The new mount API and mount-namespace introspection.
    {428, ENOSYS},
    {429, ENOSYS},
    {430, ENOSYS},
    {431, ENOSYS},
    {432, ENOSYS},
    {433, ENOSYS},
    {442, ENOSYS},
    {443, EPERM},
    {444, ENOSYS},
    {445, ENOSYS},
    {446, ENOSYS},
    {457, ENOSYS},
    {458, ENOSYS},
    {459, ENOSYS},
    {460, ENOSYS},
    {461, ENOSYS},
    // *xattrat (6.13): glibc falls back to the classic calls, which we translate.
    {463, ENOSYS},
    {464, ENOSYS},
    {465, ENOSYS},
    {466, ENOSYS},
    {467, ENOSYS}};

struct CtxDeleter {
  void operator()(void* ctx) const { seccomp_release(static_cast<scmp_filter_ctx>(ctx)); }
};

}  // namespace

SyscallPolicy PolicyFor(long nr) {
  for (long a : kAllow)
    if (a == nr) return {Verdict::kAllow, 0};
  for (long a : kNoop)
    if (a == nr) return {Verdict::kErrno, 0};
  for (const Refusal& r : kRefuse)
    if (r.nr == nr) return {Verdict::kErrno, r.err};
  return {Verdict::kTrace, 0};
}

Result<std::vector<sock_filter>> BuildFilter(bool network) {
  std::unique_ptr<void, CtxDeleter> ctx(seccomp_init(SCMP_ACT_TRACE(0)));
  if (!ctx) return Error{"seccomp_init failed", ENOMEM};
  auto* c = static_cast<scmp_filter_ctx>(ctx.get());
  if (int rc = seccomp_attr_set(c, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(ENOSYS)); rc < 0)
    return SysError("seccomp_attr_set(ACT_BADARCH)", "", -rc);
  // A binary tree instead of a linear chain: ~9 comparisons per syscall instead of ~200.
  (void)seccomp_attr_set(c, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  for (long nr = 0; nr <= kMaxKnownNr; ++nr) {
    SyscallPolicy p = PolicyFor(nr);
    if (!network && nr == SYS_socket) continue;  // traced: the tracer checks the domain
    uint32_t action;
    if (p.verdict == Verdict::kAllow) {
      action = SCMP_ACT_ALLOW;
    } else if (p.verdict == Verdict::kErrno) {
      action = SCMP_ACT_ERRNO(static_cast<uint16_t>(p.err));
    } else {
      continue;  // default action
    }
    int rc = seccomp_rule_add_exact(c, action, static_cast<int>(nr), 0);
    if (rc < 0) return SysError("seccomp_rule_add", "syscall " + std::to_string(nr), -rc);
  }
  // send()/recv() are sendto/recvfrom without an address: nothing to translate, full speed.
  for (int nr : {SYS_sendto, SYS_recvfrom}) {
    int rc = seccomp_rule_add_exact(c, SCMP_ACT_ALLOW, nr, 1, SCMP_A4(SCMP_CMP_EQ, 0));
    if (rc < 0) return SysError("seccomp_rule_add", "syscall " + std::to_string(nr), -rc);
  }
  int mfd = ::memfd_create("ocibuild-seccomp", MFD_CLOEXEC);
  if (mfd < 0) return SysError("memfd_create", "seccomp filter");
  UniqueFd fd(mfd);
  if (int rc = seccomp_export_bpf(c, fd.get()); rc < 0)
    return SysError("seccomp_export_bpf", "", -rc);
  off_t size = ::lseek(fd.get(), 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0)
    return Error{"seccomp_export_bpf produced " + std::to_string(size) + " bytes", EINVAL};
  std::vector<sock_filter> prog(static_cast<size_t>(size) / sizeof(sock_filter));
  if (::pread(fd.get(), prog.data(), static_cast<size_t>(size), 0) != size)
    return SysError("pread", "seccomp filter");
  return prog;
}

}  // namespace ocibuild::sandbox
