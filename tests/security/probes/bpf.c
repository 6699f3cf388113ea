// bpf(2): maps and programs are kernel objects outside any rootfs; with CAP_BPF/CAP_SYS_ADMIN
// (ocibuild running as root) a step could load tracing programs on the host. A step must get
// EPERM whoever runs ocibuild.
#include <linux/bpf.h>

#include "probe.h"

int main(void) {
  p_start();
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.map_type = BPF_MAP_TYPE_ARRAY;
  a.key_size = 4;
  a.value_size = 8;
  a.max_entries = 1;
  int m = (int)syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof a);
  if (ATT(m, "bpf(BPF_MAP_CREATE)") >= 0) p_escape("the step created a bpf map");
  struct bpf_insn prog[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  a.insns = (unsigned long)prog;
  a.insn_cnt = 2;
  a.license = (unsigned long)"GPL";
  int p = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof a);
  if (ATT(p, "bpf(BPF_PROG_LOAD socket filter)") >= 0) p_escape("the step loaded a bpf program");
  memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_KPROBE;
  a.insns = (unsigned long)prog;
  a.insn_cnt = 2;
  a.license = (unsigned long)"GPL";
  p = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof a);
  if (ATT(p, "bpf(BPF_PROG_LOAD kprobe)") >= 0) p_escape("the step loaded a kprobe program");
  memset(&a, 0, sizeof a);
  ATT(syscall(SYS_bpf, BPF_PROG_GET_NEXT_ID, &a, sizeof a), "bpf(BPF_PROG_GET_NEXT_ID)");
  p_end();
}
