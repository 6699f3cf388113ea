#include "tests/conformance/buildkit-integration/case_runner.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <regex>

#include "tests/conformance/buildkit-integration/docker_compare.h"
#include "tests/conformance/buildkit-integration/image_view.h"
#include "util/strings.h"

namespace ocibuild::bki {
namespace {

std::string Octal(uint32_t m) {
  char b[8];
  std::snprintf(b, sizeof b, "%04o", m);
  return b;
}

std::string Quoted(const std::string& s) {
  return nlohmann::json(s).dump();
}

// The last `n` lines of `text`.
std::string Tail(const std::string& text, size_t n) {
  auto lines = Split(text, '\n');
  size_t from = lines.size() > n ? lines.size() - n : 0;
  std::vector<std::string> keep(lines.begin() + static_cast<long>(from), lines.end());
  return Join(keep, "\n");
}

// A JSON pointer ("/config/Env/0") whose array indices may count from the end ("/history/-1").
const nlohmann::json* Point(const nlohmann::json& doc, const std::string& ptr) {
  const nlohmann::json* cur = &doc;
  if (ptr.empty() || ptr == "/") return cur;
  for (auto part : Split(ptr.substr(1), '/')) {
    for (size_t i; (i = part.find("~1")) != std::string::npos;) part.replace(i, 2, "/");
    for (size_t i; (i = part.find("~0")) != std::string::npos;) part.replace(i, 2, "~");
    if (cur->is_object()) {
      auto it = cur->find(part);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    } else if (cur->is_array()) {
      long idx;
      try {
        idx = std::stol(part);
      } catch (...) {
        return nullptr;
      }
      long n = static_cast<long>(cur->size());
      if (idx < 0) idx += n;
      if (idx < 0 || idx >= n) return nullptr;
      cur = &(*cur)[static_cast<size_t>(idx)];
    } else {
      return nullptr;
    }
  }
  return cur;
}

class Runner {
 public:
  Runner(Environment& env, const Case& c) : env_(env), c_(c) {}

  CaseOutcome Run() {
    Status st = Prepare();
    if (!st.ok()) {
      out_.failures.push_back("setup: " + st.error().message);
      return std::move(out_);
    }
    for (const auto& l : c_.script) {
      line_ = l.line;
      std::vector<std::string> w;
      for (const auto& x : l.words) w.push_back(Substitute(x, vars_));
      std::string rest = Substitute(l.rest, vars_);
      Status s = Step(w, rest);
      if (!s.ok()) Fail(s.error().message);
      if (stop_) break;
    }
    return std::move(out_);
  }

 private:
  void Fail(const std::string& msg) {
    out_.failures.push_back(c_.name + ".txt:" + std::to_string(line_) + ": " + msg);
  }

  bool Uses(const std::string& key) const {
    for (const auto& n : c_.needs)
      if (n == key) return true;
    std::string needle = "{{" + key + "}}";
    for (const auto& f : c_.files)
      if (f.content.find(needle) != std::string::npos) return true;
    if (c_.setup.find(needle) != std::string::npos) return true;
    for (const auto& l : c_.script)
      if (l.rest.find(needle) != std::string::npos) return true;
    return false;
  }

  Status Prepare() {
    id_ = c_.name;
    for (auto& ch : id_)
      if (ch == '/') ch = '_';
    work_ = JoinPath(env_.tmp(), "cases/" + id_);
    OCIB_TRY(MakeDirs(JoinPath(work_, "ctx"), 0755));
    std::string www = JoinPath(env_.www_dir(), id_);
    OCIB_TRY(MakeDirs(www, 0755));
    if (::symlink(www.c_str(), JoinPath(work_, "www").c_str()) != 0)
      return SysError("symlink", www);
    vars_["registry"] = env_.registry();
    vars_["httproot"] = "http://127.0.0.1:" + std::to_string(env_.http_port());
    vars_["http"] = vars_["httproot"] + "/" + id_;
    vars_["casedir"] = work_;
    vars_["uid"] = std::to_string(::getuid());
    if (Uses("busybox")) {
      OCIB_ASSIGN_OR_RETURN(vars_["busybox"], env_.Busybox());
    }
    if (Uses("debian")) {
      OCIB_ASSIGN_OR_RETURN(vars_["debian"], env_.Debian());
    }
    for (const auto& f : c_.files) {
      std::string p = JoinPath(work_, f.path);
      size_t slash = p.rfind('/');
      OCIB_TRY(MakeDirs(p.substr(0, slash), 0755));
      if (!f.symlink.empty()) {
        if (::symlink(f.symlink.c_str(), p.c_str()) != 0) return SysError("symlink", p);
      } else if (f.dir) {
        OCIB_TRY(MakeDirs(p, f.mode < 0 ? 0755 : f.mode));
        ::chmod(p.c_str(), f.mode < 0 ? 0755 : f.mode);
      } else {
        OCIB_TRY(WriteFile(p, Substitute(f.content, vars_), f.mode < 0 ? 0644 : f.mode));
        ::chmod(p.c_str(), f.mode < 0 ? 0644 : f.mode);
      }
    }
    if (!c_.setup.empty()) OCIB_TRY(Shell(Substitute(c_.setup, vars_), "setup"));
    return Ok();
  }

  Status Shell(const std::string& script, const std::string& what) {
    SpawnOptions o;
    o.cwd = work_;
    o.extra_env["HOME"] = work_;  // git config --global and friends stay in the case
    o.extra_env["GIT_CONFIG_NOSYSTEM"] = "1";
    OCIB_ASSIGN_OR_RETURN(ProcessResult r, RunProcess({"sh", "-ec", script}, o));
    if (r.exit_code != 0)
      return Error{what + " failed (exit " + std::to_string(r.exit_code) + "):\n" + r.out + r.err};
    return Ok();
  }

  // ocibuild's flags for a build step; the runner's own are taken out.
  struct BuildArgs {
    std::vector<std::string> flags;
    std::string ctx = "ctx";
    std::string cwd;    // relative to the case's work directory
    std::string stdin;  // a file fed to ocibuild's stdin (context "-")
    bool image = true;
  };
  BuildArgs ParseBuildArgs(const std::vector<std::string>& w) {
    BuildArgs b;
    for (size_t i = 1; i < w.size(); ++i) {
      if (StartsWith(w[i], "--ctx=")) {
        b.ctx = w[i].substr(6);
      } else if (StartsWith(w[i], "--cwd=")) {
        b.cwd = w[i].substr(6);
      } else if (StartsWith(w[i], "--stdin=")) {
        b.stdin = w[i].substr(8);
      } else if (w[i] == "--no-image") {
        b.image = false;
      } else {
        b.flags.push_back(w[i]);
      }
    }
    return b;
  }

  Status Build(const std::vector<std::string>& w, bool expect_ok) {
    BuildArgs b = ParseBuildArgs(w);
    std::vector<std::string> args = {"--progress=plain"};
    std::string layout = JoinPath(work_, "out-" + std::to_string(++builds_));
    if (b.image) {
      args.push_back("--output");
      args.push_back("type=oci,dest=" + layout);
    }
    args.insert(args.end(), b.flags.begin(), b.flags.end());
    args.push_back(b.ctx);
    std::optional<std::string> input;
    if (!b.stdin.empty()) {
      OCIB_ASSIGN_OR_RETURN(input, ReadFile(JoinPath(work_, b.stdin)));
    }
    OCIB_ASSIGN_OR_RETURN(ProcessResult r,
                          env_.Ocibuild(args, b.cwd.empty() ? work_ : JoinPath(work_, b.cwd),
                                        JoinPath(work_, "state"), build_env_, input));
    output_ = r.out + r.err;
    out_.log += "$ ocibuild " + Join(args, " ") + "\n" + output_ + "\n";
    last_ = b;
    image_.reset();
    if (expect_ok) {
      if (r.exit_code != 0) {
        stop_ = true;  // the checks after it would only repeat the failure
        return Error{"build failed (exit " + std::to_string(r.exit_code) + "):\n" +
                     Tail(output_, 15)};
      }
      if (b.image) {
        auto v = ReadOciLayout(layout);
        if (!v.ok()) return v.error().Context("reading the built image");
        image_ = std::move(*v);
        // A maintenance aid: BKI_COMPARE_ALL=1 compares every build with dockerd's and notes
        // the differences, to find cases worth a docker-compare line.
        if (std::getenv("BKI_COMPARE_ALL")) {
          Status st = DockerCompare();
          out_.notes.push_back("compare-all " + c_.name + " build " + std::to_string(builds_) +
                               ": " + (st.ok() ? "same" : st.error().message));
        }
      }
    } else if (r.exit_code == 0) {
      return Error{"build succeeded; the case expects it to fail"};
    }
    return Ok();
  }

  Result<const ImageView*> Image() {
    if (!image_) return Error{"no image to check (the last build made none)"};
    return &*image_;
  }

  Result<const FsEntry*> Entry(const std::string& path) {
    OCIB_ASSIGN_OR_RETURN(const ImageView* v, Image());
    const FsEntry* e = v->Find(path);
    if (!e) return Error{path + ": not in the image"};
    return e;
  }

  Status Want(size_t n, const std::vector<std::string>& w) {
    if (w.size() != n + 1)
      return Error{w[0] + ": expected " + std::to_string(n) + " arguments, got " +
                   std::to_string(w.size() - 1)};
    return Ok();
  }

  Result<nlohmann::json> ConfigAt(const std::string& ptr) {
    OCIB_ASSIGN_OR_RETURN(const ImageView* v, Image());
    const nlohmann::json* j = Point(v->config, ptr);
    if (!j) return Error{"config" + ptr + ": absent"};
    return *j;
  }

  Status Step(const std::vector<std::string>& w, const std::string& rest) {
    const std::string& cmd = w[0];
    if (cmd == "build") return Build(w, true);
    if (cmd == "build-fail") return Build(w, false);
    if (cmd == "setenv") {
      OCIB_TRY(Want(2, w));
      build_env_[w[1]] = w[2];
      return Ok();
    }
    if (cmd == "sh") return Shell(rest, "sh " + rest);
    if (cmd == "load-vars") {
      // KEY=VALUE lines a :setup wrote (commit ids, ...), usable as {{KEY}} from here on.
      OCIB_TRY(Want(1, w));
      OCIB_ASSIGN_OR_RETURN(std::string text, ReadFile(JoinPath(work_, w[1])));
      for (const auto& l : Split(text, '\n')) {
        auto [k, v] = SplitOnce(l, '=');
        if (!k.empty()) vars_[k] = v;
      }
      return Ok();
    }
    if (cmd == "stderr" || cmd == "!stderr") {
      OCIB_TRY(Want(1, w));
      bool has = output_.find(w[1]) != std::string::npos;
      if (has != (cmd == "stderr"))
        return Error{"build output " + std::string(has ? "has " : "lacks ") + Quoted(w[1]) + ":\n" +
                     Tail(output_, 15)};
      return Ok();
    }
    if (cmd == "stderr-re") {
      OCIB_TRY(Want(1, w));
      if (!std::regex_search(output_, std::regex(w[1])))
        return Error{"build output does not match /" + w[1] + "/:\n" + Tail(output_, 15)};
      return Ok();
    }
    if (cmd == "file") {
      OCIB_TRY(Want(2, w));
      OCIB_ASSIGN_OR_RETURN(const FsEntry* e, Entry(w[1]));
      if (e->type != 'f') return Error{w[1] + ": not a regular file (" + e->type + ")"};
      if (e->content != w[2])
        return Error{w[1] + ": content " + Quoted(e->content) + ", want " + Quoted(w[2])};
      return Ok();
    }
    if (cmd == "contains" || cmd == "!contains") {
      OCIB_TRY(Want(2, w));
      OCIB_ASSIGN_OR_RETURN(const FsEntry* e, Entry(w[1]));
      bool has = e->content.find(w[2]) != std::string::npos;
      if (has != (cmd == "contains"))
        return Error{w[1] + ": content " + Quoted(e->content) + (has ? " has " : " lacks ") +
                     Quoted(w[2])};
      return Ok();
    }
    if (cmd == "mode") {
      OCIB_TRY(Want(2, w));
      OCIB_ASSIGN_OR_RETURN(const FsEntry* e, Entry(w[1]));
      if (Octal(e->mode) != w[2])
        return Error{w[1] + ": mode " + Octal(e->mode) + ", want " + w[2]};
      return Ok();
    }
    if (cmd == "owner") {
      OCIB_TRY(Want(2, w));
      OCIB_ASSIGN_OR_RETURN(const FsEntry* e, Entry(w[1]));
      std::string got = std::to_string(e->uid) + ":" + std::to_string(e->gid);
      if (got != w[2]) return Error{w[1] + ": owner " + got + ", want " + w[2]};
      return Ok();
    }
    if (cmd == "type") {
      OCIB_TRY(Want(2, w));
      OCIB_ASSIGN_OR_RETURN(const ImageView* v, Image());
      auto it = v->merged.find(CleanImagePath(w[1]));
      if (it == v->merged.end()) return Error{w[1] + ": not in the image"};
      if (std::string(1, it->second.type) != w[2])
        return Error{w[1] + ": type " + std::string(1, it->second.type) + ", want " + w[2]};
      return Ok();
    }
    if (cmd == "link") {
      OCIB_TRY(Want(2, w));
      OCIB_ASSIGN_OR_RETURN(const ImageView* v, Image());
      auto it = v->merged.find(CleanImagePath(w[1]));
      if (it == v->merged.end()) return Error{w[1] + ": not in the image"};
      if (it->second.type != 'l' || it->second.link != w[2])
        return Error{w[1] + ": " + std::string(1, it->second.type) + " -> " +
                     Quoted(it->second.link) + ", want a symlink to " + Quoted(w[2])};
      return Ok();
    }
    if (cmd == "exists" || cmd == "absent") {
      OCIB_TRY(Want(1, w));
      OCIB_ASSIGN_OR_RETURN(const ImageView* v, Image());
      bool has = v->merged.count(CleanImagePath(w[1])) > 0;
      if (has != (cmd == "exists"))
        return Error{w[1] + (has ? ": in the image, want it absent" : ": not in the image")};
      return Ok();
    }
    if (cmd == "ls") {
      OCIB_TRY(Want(w.size() - 1, w));
      OCIB_ASSIGN_OR_RETURN(const ImageView* v, Image());
      std::string dir = CleanImagePath(w[1]);
      std::vector<std::string> got;
      for (const auto& [p, e] : v->merged) {
        std::string parent = p.rfind('/') == std::string::npos ? "" : p.substr(0, p.rfind('/'));
        if (!p.empty() && parent == dir) got.push_back(p.substr(dir.empty() ? 0 : dir.size() + 1));
      }
      std::vector<std::string> want(w.begin() + 2, w.end());
      std::sort(want.begin(), want.end());
      if (got != want)
        return Error{"ls " + w[1] + ": [" + Join(got, " ") + "], want [" + Join(want, " ") + "]"};
      return Ok();
    }
    if (cmd == "config" || cmd == "config-absent" || cmd == "config-contains") {
      if (w.size() < 2) return Error{cmd + ": needs a JSON pointer"};
      OCIB_ASSIGN_OR_RETURN(const ImageView* v, Image());
      const nlohmann::json* got = Point(v->config, w[1]);
      if (cmd == "config-absent") {
        if (got && !got->is_null()) return Error{"config" + w[1] + " is " + got->dump()};
        return Ok();
      }
      if (!got) return Error{"config" + w[1] + ": absent"};
      std::string value = std::string(TrimSpace(rest.substr(rest.find(w[1]) + w[1].size())));
      if (cmd == "config-contains") {
        OCIB_TRY(Want(2, w));
        std::string s = got->is_string() ? got->get<std::string>() : got->dump();
        if (s.find(w[2]) == std::string::npos)
          return Error{"config" + w[1] + " is " + got->dump() + ", without " + Quoted(w[2])};
        return Ok();
      }
      auto want = nlohmann::json::parse(value, nullptr, false);
      if (want.is_discarded()) return Error{"config: not JSON: " + value};
      if (*got != want)
        return Error{"config" + w[1] + " is " + got->dump() + ", want " + want.dump()};
      return Ok();
    }
    if (cmd == "layers" || cmd == "history") {
      OCIB_TRY(Want(1, w));
      OCIB_ASSIGN_OR_RETURN(const ImageView* v, Image());
      size_t n = cmd == "layers"
                     ? v->layers.size()
                     : (v->config.contains("history") ? v->config["history"].size() : 0);
      if (std::to_string(n) != w[1])
        return Error{
            cmd + ": " + std::to_string(n) + ", want " + w[1] +
            (cmd == "history" ? "\n" + v->config.value("history", nlohmann::json()).dump(1) : "")};
      return Ok();
    }
    if (cmd == "mtime") {
      OCIB_TRY(Want(2, w));
      OCIB_ASSIGN_OR_RETURN(const FsEntry* e, Entry(w[1]));
      if (std::to_string(e->mtime) != w[2])
        return Error{w[1] + ": mtime " + std::to_string(e->mtime) + ", want " + w[2]};
      return Ok();
    }
    if (cmd == "samefile") {
      // Two paths of one inode: in a layer, one is a hardlink entry naming the other.
      OCIB_TRY(Want(2, w));
      OCIB_ASSIGN_OR_RETURN(const ImageView* v, Image());
      auto a = v->merged.find(CleanImagePath(w[1])), b = v->merged.find(CleanImagePath(w[2]));
      if (a == v->merged.end() || b == v->merged.end()) return Error{"samefile: a path is missing"};
      bool linked = (a->second.type == 'h' && a->second.link == b->first) ||
                    (b->second.type == 'h' && b->second.link == a->first);
      if (!linked) return Error{w[1] + " and " + w[2] + " are not hardlinks of one file"};
      return Ok();
    }
    if (cmd == "digest-save" || cmd == "digest-same" || cmd == "digest-differs") {
      OCIB_TRY(Want(1, w));
      OCIB_ASSIGN_OR_RETURN(const ImageView* v, Image());
      std::string d = v->manifest.dump();
      if (cmd == "digest-save") {
        saved_["digest:" + w[1]] = d;
        return Ok();
      }
      auto it = saved_.find("digest:" + w[1]);
      if (it == saved_.end()) return Error{"no manifest saved as " + w[1]};
      if ((it->second == d) != (cmd == "digest-same"))
        return Error{"the manifest " + std::string(cmd == "digest-same" ? "differs from" : "is") +
                     " the saved " + w[1] + ":\n" + it->second + "\n" + d};
      return Ok();
    }
    if (cmd == "tar-file" || cmd == "tar-absent") {
      OCIB_TRY(Want(cmd == "tar-file" ? 3 : 2, w));
      OCIB_ASSIGN_OR_RETURN(std::string blob, ReadFile(JoinPath(work_, w[1])));
      OCIB_ASSIGN_OR_RETURN(FsMap m, ReadLayer(blob));
      auto it = m.find(CleanImagePath(w[2]));
      if (cmd == "tar-absent") {
        if (it != m.end()) return Error{w[1] + ": has " + w[2]};
        return Ok();
      }
      if (it == m.end()) return Error{w[1] + ": no " + w[2]};
      if (it->second.content != w[3])
        return Error{w[1] + ":" + w[2] + ": " + Quoted(it->second.content) + ", want " +
                     Quoted(w[3])};
      return Ok();
    }
    if (cmd == "save") {
      OCIB_TRY(Want(2, w));
      OCIB_ASSIGN_OR_RETURN(const FsEntry* e, Entry(w[2]));
      saved_[w[1]] = e->content;
      return Ok();
    }
    if (cmd == "same" || cmd == "differs") {
      OCIB_TRY(Want(2, w));
      OCIB_ASSIGN_OR_RETURN(const FsEntry* e, Entry(w[2]));
      auto it = saved_.find(w[1]);
      if (it == saved_.end()) return Error{"nothing saved as " + w[1]};
      if ((it->second == e->content) != (cmd == "same"))
        return Error{w[2] + ": " + Quoted(e->content) +
                     (cmd == "same" ? " differs from " : " is ") + "the saved " + w[1] + " " +
                     Quoted(it->second)};
      return Ok();
    }
    if (cmd == "hostfile") {
      OCIB_TRY(Want(2, w));
      auto data = ReadFile(JoinPath(work_, w[1]));
      if (!data.ok()) return data.error();
      if (*data != w[2]) return Error{w[1] + ": " + Quoted(*data) + ", want " + Quoted(w[2])};
      return Ok();
    }
    if (cmd == "requests") {
      OCIB_TRY(Want(2, w));
      int n = 0;
      for (const auto& r : env_.server().Requests())
        if (r == w[1]) ++n;
      if (std::to_string(n) != w[2])
        return Error{"\"" + w[1] + "\" requested " + std::to_string(n) + " times, want " + w[2]};
      return Ok();
    }
    if (cmd == "docker-ignore") {
      docker_ignore_.insert(docker_ignore_.end(), w.begin() + 1, w.end());
      return Ok();
    }
    if (cmd == "docker-compare") return DockerCompare();
    return Error{"unknown script command " + cmd};
  }

  Status DockerCompare() {
    OCIB_ASSIGN_OR_RETURN(const ImageView* ours, Image());
    auto host = env_.DockerHost();
    if (!host) {
      out_.notes.push_back("docker-compare skipped: no Docker daemon here (runs as root only)");
      return Ok();
    }
    std::string tag = "bki-" + ToLower(id_) + ":" + std::to_string(builds_);
    for (auto& ch : tag)
      if (ch == '_') ch = '-';
    // The test daemon has no bridge network (scripts/dockerd.sh): RUN steps use the host's.
    std::vector<std::string> argv = {
        env_.DockerCli(), "build", "--progress=plain", "--network", "host", "-t", tag};
    for (size_t i = 0; i < last_.flags.size(); ++i) {
      const std::string& f = last_.flags[i];
      if (f == "-o" || f == "--output" || f == "-t" || f == "--tag") {
        ++i;
        continue;
      }
      if (StartsWith(f, "--output=") || StartsWith(f, "--tag=") || f == "--push" ||
          f == "--no-push")
        continue;
      argv.push_back(f);
    }
    argv.push_back(last_.ctx);
    SpawnOptions o;
    o.cwd = last_.cwd.empty() ? work_ : JoinPath(work_, last_.cwd);
    o.extra_env = {{"DOCKER_HOST", *host}, {"DOCKER_BUILDKIT", "1"}};
    OCIB_ASSIGN_OR_RETURN(ProcessResult b, RunProcess(argv, o));
    out_.log += "$ DOCKER_BUILDKIT=1 " + Join(argv, " ") + "\n" + b.out + b.err + "\n";
    if (b.exit_code != 0) return Error{"docker build failed:\n" + Tail(b.out + b.err, 15)};
    std::string tar = JoinPath(work_, "docker-" + std::to_string(builds_) + ".tar");
    o.cwd = work_;
    OCIB_ASSIGN_OR_RETURN(ProcessResult s,
                          RunProcess({env_.DockerCli(), "save", "-o", tar, tag}, o));
    ImageView theirs;
    if (s.exit_code != 0 && s.err.find("empty export") != std::string::npos) {
      // dockerd 20.10 cannot save an image without layers: compare what inspect shows.
      OCIB_ASSIGN_OR_RETURN(ProcessResult in,
                            RunProcess({env_.DockerCli(), "image", "inspect", tag}, o));
      auto j = nlohmann::json::parse(in.out, nullptr, false);
      if (in.exit_code != 0 || j.is_discarded() || j.empty()) return Error{"docker inspect failed"};
      theirs.config = {{"config", j[0]["Config"]},
                       {"architecture", j[0]["Architecture"]},
                       {"os", j[0]["Os"]},
                       {"author", j[0]["Author"]}};
      out_.notes.push_back("docker-compare: no layers, so only the config was compared");
      (void)RunProcess({env_.DockerCli(), "rmi", "-f", tag}, o);
      std::vector<std::string> ignore = docker_ignore_;
      ignore.push_back("history");
      auto diffs = CompareImages(*ours, theirs, ignore);
      if (!diffs.empty())
        return Error{"differs from Docker's BuildKit image:\n  " + Join(diffs, "\n  ")};
      return Ok();
    }
    (void)RunProcess({env_.DockerCli(), "rmi", "-f", tag}, o);
    if (s.exit_code != 0) return Error{"docker save failed: " + s.err};
    OCIB_ASSIGN_OR_RETURN(theirs, ReadDockerArchive(tar));
    ::unlink(tar.c_str());
    auto diffs = CompareImages(*ours, theirs, docker_ignore_);
    if (!diffs.empty())
      return Error{"differs from Docker's BuildKit image:\n  " + Join(diffs, "\n  ")};
    return Ok();
  }

  Environment& env_;
  const Case& c_;
  CaseOutcome out_;
  std::string id_, work_;
  int line_ = 0;
  bool stop_ = false;
  std::map<std::string, std::string> vars_, build_env_, saved_;
  std::vector<std::string> docker_ignore_;
  std::optional<ImageView> image_;
  std::string output_;
  BuildArgs last_;
  int builds_ = 0;
};

}  // namespace

CaseOutcome RunCase(Environment& env, const Case& c) {
  return Runner(env, c).Run();
}

}  // namespace ocibuild::bki
