#include "tests/conformance/buildkit-integration/file_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "util/fs.h"
#include "util/strings.h"

namespace ocibuild::bki {
namespace {

std::string HttpDate(time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<FileServer>> FileServer::Start(const std::string& dir) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return SysError("socket", "http server");
  UniqueFd l(fd);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return SysError("bind", "http");
  if (::listen(fd, 64) != 0) return SysError("listen", "http");
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  std::unique_ptr<FileServer> s(new FileServer(dir, std::move(l), ntohs(a.sin_port)));
  s->thread_ = std::thread([p = s.get()] { p->Serve(); });
  return s;
}

FileServer::~FileServer() {
  stop_ = true;
  ::shutdown(listener_.get(), SHUT_RDWR);
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(mu_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : workers_) t.join();
}

std::vector<std::string> FileServer::Requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

void FileServer::Serve() {
  while (!stop_) {
    pollfd p{listener_.get(), POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    int c = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    std::lock_guard lock(mu_);
    open_fds_.push_back(c);
    workers_.emplace_back([this, c] {
      Handle(c);
      std::lock_guard l2(mu_);
      open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), c), open_fds_.end());
      ::close(c);
    });
  }
}

void FileServer::Handle(int fd) {
  std::string buf;
  for (;;) {
    size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
      char tmp[8192];
      ssize_t n = ::read(fd, tmp, sizeof tmp);
      if (n <= 0) return;
      buf.append(tmp, static_cast<size_t>(n));
    }
    std::string head = buf.substr(0, end);
    buf.erase(0, end + 4);
    auto lines = Split(head, '\n');
    auto first = Split(std::string(TrimSpace(lines[0])), ' ');
    if (first.size() < 2) return;
    std::string method = first[0], target = first[1];
    {
      std::lock_guard lock(mu_);
      requests_.push_back(method + " " + target);
    }
    std::string path = Unescape(SplitOnce(target, '?').first);
    std::string file = JoinPath(dir_, path);
    if (EndsWith(path, "/")) file = JoinPath(file, "_index");  // a URL with no file name
    struct stat st;
    std::string body, status = "200 OK", extra;
    if (path.find("..") != std::string::npos || ::stat(file.c_str(), &st) != 0 ||
        !S_ISREG(st.st_mode)) {
      status = "404 Not Found";
      body = "not found\n";
    } else {
      auto data = ReadFile(file);
      body = data.ok() ? *data : "";
      // A file with a "<name>.no-last-modified" beside it is served without Last-Modified.
      if (!PathExists(file + ".no-last-modified"))
        extra = "Last-Modified: " + HttpDate(st.st_mtime) + "\r\n";
      extra += "ETag: \"" + std::to_string(st.st_ino) + "-" + std::to_string(st.st_size) + "-" +
               std::to_string(st.st_mtime) + "\"\r\n";
    }
    std::string resp = "HTTP/1.1 " + status + "\r\nContent-Length: " + std::to_string(body.size()) +
                       "\r\n" + extra +
                       "Content-Type: application/octet-stream\r\nConnection: keep-alive\r\n\r\n";
    if (method != "HEAD") resp += body;
    if (!WriteAll(fd, resp, "http").ok()) return;
  }
}

}  // namespace ocibuild::bki
