// Test double for HttpTransport: a handler answers each request, and every request is recorded,
// so auth, pull and push logic is tested without a network.
#pragma once

#include <algorithm>
#include <cerrno>
#include <functional>
#include <mutex>
#include <vector>

#include "registry/http_transport.h"

namespace ocibuild::registry {

class FakeTransport : public HttpTransport {
 public:
  using Handler = std::function<Result<HttpResponse>(const HttpRequest&)>;
  explicit FakeTransport(Handler h) : handler_(std::move(h)) {}

  Result<HttpResponse> Do(const HttpRequest& req) override {
    Result<HttpResponse> r = handler_(req);
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(req);
    }
    if (!r.ok()) return r;
    return Deliver(req, std::move(*r));
  }

  // Bodies go to the sink as the curl transport does: only for 2xx answers, after on_response
  // has seen the head.
  static Result<HttpResponse> Deliver(const HttpRequest& req, HttpResponse r) {
    if (req.sink && r.status >= 200 && r.status < 300 && !r.body.empty()) {
      if (req.on_response) {
        HttpResponse head = r;
        head.body.clear();
        Status st = req.on_response(head);
        if (!st.ok()) return std::move(st).error();
      }
      Status st = req.sink(r.body.data(), r.body.size());
      if (!st.ok()) return std::move(st).error();
      r.body.clear();
    }
    return r;
  }

  std::vector<HttpRequest> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  // "METHOD url" of each request, in order.
  std::vector<std::string> Lines() {
    std::vector<std::string> out;
    for (const auto& r : requests()) out.push_back(r.method + " " + r.url);
    return out;
  }

  static HttpResponse Respond(long status, std::string body = "", HttpHeaders headers = {}) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    for (auto& [k, v] : headers) r.headers.emplace_back(k, v);
    for (auto& kv : r.headers)
      for (auto& c : kv.first) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
  }

  // A 2xx answer of which only the first `bytes` of the body arrive before the connection
  // breaks: what a proxy cutting the connection does to a download.
  static Result<HttpResponse> CutAfter(const HttpRequest& req, HttpResponse resp, size_t bytes) {
    if (req.sink && bytes > 0) {
      if (req.on_response) {
        HttpResponse head = resp;
        head.body.clear();
        Status st = req.on_response(head);
        if (!st.ok()) return std::move(st).error();
      }
      Status st = req.sink(resp.body.data(), std::min(bytes, resp.body.size()));
      if (!st.ok()) return std::move(st).error();
    }
    return Error{req.method + " " + req.url + ": Recv failure: Connection reset by peer",
                 ECONNRESET};
  }

  static std::string HeaderOf(const HttpRequest& req, const std::string& name) {
    for (const auto& [k, v] : req.headers) {
      std::string lk = k;
      for (auto& c : lk) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lk == name) return v;
    }
    return "";
  }

 private:
  Handler handler_;
  std::mutex mu_;
  std::vector<HttpRequest> requests_;
};

}  // namespace ocibuild::registry
