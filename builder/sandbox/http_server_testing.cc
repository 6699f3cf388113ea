#include "builder/sandbox/http_server_testing.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "util/fs.h"

namespace ocibuild::sandbox::testing {

Result<std::unique_ptr<LocalHttpServer>> LocalHttpServer::Start(const std::string& dir) {
  UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return SysError("socket", "http server");
  int one = 1;
  ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return SysError("bind", "127.0.0.1:0");
  if (::listen(s.get(), 16) != 0) return SysError("listen", "http server");
  socklen_t len = sizeof addr;
  ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  std::unique_ptr<LocalHttpServer> srv(
      new LocalHttpServer(dir, std::move(s), ntohs(addr.sin_port)));
  srv->thread_ = std::thread([p = srv.get()] { p->Serve(); });
  return srv;
}

LocalHttpServer::LocalHttpServer(std::string dir, UniqueFd listener, int port)
    : dir_(std::move(dir)), listener_(std::move(listener)), port_(port) {}

LocalHttpServer::~LocalHttpServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void LocalHttpServer::Serve() {
  while (!stop_) {
    pollfd p{listener_.get(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    UniqueFd c(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (c) Handle(c.get());
  }
}

void LocalHttpServer::Handle(int fd) {
  std::string buf;
  char chunk[4096];
  while (!stop_) {
    size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) {
        if (stop_) return;
        continue;
      }
      ssize_t n = ::read(fd, chunk, sizeof chunk);
      if (n <= 0) return;
      buf.append(chunk, static_cast<size_t>(n));
    }
    std::string req = buf.substr(0, end);
    buf.erase(0, end + 4);
    ++requests_;
    size_t sp1 = req.find(' '), sp2 = req.find(' ', sp1 + 1);
    std::string method = req.substr(0, sp1);
    std::string path = req.substr(sp1 + 1, sp2 - sp1 - 1);
    if (size_t q = path.find('?'); q != std::string::npos) path.resize(q);
    std::string decoded;
    for (size_t i = 0; i < path.size(); ++i) {
      if (path[i] == '%' && i + 2 < path.size()) {
        decoded += static_cast<char>(std::stoi(path.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        decoded += path[i];
      }
    }
    path = decoded;
    std::string body;
    bool found = path.find("..") == std::string::npos;
    if (found) {
      auto data = ReadFile(dir_ + path);
      found = data.ok();
      if (found) body = std::move(*data);
    }
    std::string head = found ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.1 404 Not Found\r\n";
    if (!found) body.clear();
    head += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: keep-alive\r\n\r\n";
    if (!WriteAll(fd, head, "http").ok()) return;
    if (method != "HEAD" && !WriteAll(fd, body, "http").ok()) return;
  }
}

}  // namespace ocibuild::sandbox::testing
