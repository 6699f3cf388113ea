// A tiny static-file HTTP/1.1 server on 127.0.0.1 for the apt tests (apt's http method: GET and
// HEAD with keep-alive). Lives in a thread of the test process; stopped and joined on destruction.
// Test-only: no python3 or web server is needed in the container the tests run in.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "util/fd.h"
#include "util/result.h"

namespace ocibuild::sandbox::testing {

class LocalHttpServer {
 public:
  static Result<std::unique_ptr<LocalHttpServer>> Start(const std::string& dir);
  ~LocalHttpServer();
  int port() const { return port_; }
  int requests() const { return requests_.load(); }

 private:
  LocalHttpServer(std::string dir, UniqueFd listener, int port);
  void Serve();
  void Handle(int fd);

  std::string dir_;
  UniqueFd listener_;
  int port_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

}  // namespace ocibuild::sandbox::testing
