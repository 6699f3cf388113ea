// A static-file HTTP/1.1 server on 127.0.0.1 for ADD <url> cases and git's dumb HTTP protocol:
// GET and HEAD, Last-Modified from the file's mtime (left out when "<file>.no-last-modified"
// exists), an ETag, the query string ignored, "<dir>/_index" for a path ending in '/', a thread
// per connection. It runs inside the test process, so the unprivileged and container
// runs need no web server installed.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "util/fd.h"
#include "util/result.h"

namespace ocibuild::bki {

class FileServer {
 public:
  static Result<std::unique_ptr<FileServer>> Start(const std::string& dir);
  ~FileServer();
  int port() const { return port_; }
  // "METHOD /path" of every request so far.
  std::vector<std::string> Requests() const;

 private:
  FileServer(std::string dir, UniqueFd listener, int port)
      : dir_(std::move(dir)), listener_(std::move(listener)), port_(port) {}
  void Serve();
  void Handle(int fd);

  std::string dir_;
  UniqueFd listener_;
  int port_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<std::string> requests_;
  std::vector<std::thread> workers_;
  std::vector<int> open_fds_;
};

}  // namespace ocibuild::bki
