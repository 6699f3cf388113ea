#include "builder/sandbox/process_table.h"

#include "util/sys/pidfd.h"

namespace ocibuild::sandbox {

std::shared_ptr<Task> ProcessTable::Find(pid_t tid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tasks_.find(tid);
  return it == tasks_.end() ? nullptr : it->second;
}

std::shared_ptr<Process> ProcessTable::FindProcess(pid_t tgid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = procs_.find(tgid);
  return it == procs_.end() ? nullptr : it->second;
}

void ProcessTable::Add(std::shared_ptr<Task> t) {
  std::lock_guard<std::mutex> lock(mu_);
  procs_[t->proc->tgid] = t->proc;
  tasks_[t->tid] = std::move(t);
  live_.store(tasks_.size(), std::memory_order_relaxed);
}

void ProcessTable::Rekey(pid_t from, pid_t to) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tasks_.find(from);
  if (it == tasks_.end()) return;
  std::shared_ptr<Task> t = std::move(it->second);
  tasks_.erase(it);
  t->tid = to;
  tasks_[to] = std::move(t);
}

void ProcessTable::Remove(pid_t tid) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tasks_.find(tid);
  if (it == tasks_.end()) return;
  std::shared_ptr<Process> p = it->second->proc;
  tasks_.erase(it);
  live_.store(tasks_.size(), std::memory_order_relaxed);
  for (const auto& [id, t] : tasks_)
    if (t->proc == p) return;
  procs_.erase(p->tgid);
}

std::vector<pid_t> ProcessTable::Tgids() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<pid_t> out;
  for (const auto& [tgid, p] : procs_) out.push_back(tgid);
  return out;
}

std::vector<pid_t> ProcessTable::Tids() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<pid_t> out;
  for (const auto& [tid, t] : tasks_) out.push_back(tid);
  return out;
}

std::vector<std::shared_ptr<Process>> ProcessTable::Processes() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<Process>> out;
  for (const auto& [tgid, p] : procs_) out.push_back(p);
  return out;
}

bool ProcessTable::empty() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tasks_.empty();
}

bool ProcessTable::Alive(const Process& p) {
  // Signal 0 through the pidfd: only the process it was opened on, never a successor.
  return p.pidfd.valid() && sys::PidfdSendSignal(p.pidfd.get(), 0) == 0;
}

bool ProcessTable::IsMember(pid_t pid) const {
  std::shared_ptr<Task> t = Find(pid);
  if (!t) return false;
  return Alive(*t->proc);
}

}  // namespace ocibuild::sandbox
