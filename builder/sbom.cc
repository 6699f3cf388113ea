#include "builder/sbom.h"

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <set>

#include "util/fd.h"
#include "util/sha256.h"
#include "util/strings.h"

namespace ocibuild::builder {
namespace {

constexpr size_t kMaxMetadataBytes = 64 << 20;    // dpkg status of a big image is a few MiB
constexpr off_t kMaxExecutableBytes = 1ll << 30;  // Go binaries are read whole

Result<std::string> ReadAt(int dirfd, const char* name, size_t limit) {
  UniqueFd fd(::openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return SysError("open", name);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SysError("read", name);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > limit) return Error{std::string(name) + ": larger than expected"};
  }
  return out;
}

// RFC 822-style stanzas (dpkg status, PKG-INFO/METADATA headers): "Key: value" lines with
// continuation lines starting with a space; a blank line ends a stanza.
std::vector<std::map<std::string, std::string>> Stanzas(std::string_view text, bool one = false) {
  std::vector<std::map<std::string, std::string>> out(1);
  std::string last;
  for (const auto& line : Split(std::string(text), '\n')) {
    std::string l = line;
    if (!l.empty() && l.back() == '\r') l.pop_back();
    if (l.empty()) {
      if (one) break;
      if (!out.back().empty()) out.emplace_back();
      continue;
    }
    if (l[0] == ' ' || l[0] == '\t') {
      if (!last.empty()) out.back()[last] += "\n" + l.substr(1);
      continue;
    }
    size_t colon = l.find(':');
    if (colon == std::string::npos) continue;
    last = l.substr(0, colon);
    out.back().emplace(last, std::string(TrimSpace(l.substr(colon + 1))));
  }
  if (out.back().empty()) out.pop_back();
  return out;
}

std::string Get(const std::map<std::string, std::string>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? "" : it->second;
}

std::string PurlEncode(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Go's uvarint.
bool ReadUvarint(std::string_view s, size_t* pos, uint64_t* v) {
  *v = 0;
  for (int shift = 0; *pos < s.size() && shift < 64; shift += 7) {
    unsigned char b = static_cast<unsigned char>(s[(*pos)++]);
    *v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

struct Scanner {
  std::vector<SbomPackage> out;
  std::set<std::string> seen;  // type/name@version
  std::string distro;          // "debian-12" from etc/os-release
  std::string distro_id;       // "debian"

  void Add(SbomPackage p) {
    if (p.name.empty()) return;
    if (!seen.insert(p.type + "/" + p.name + "@" + p.version).second) return;
    out.push_back(std::move(p));
  }

  void Dpkg(std::string_view text, const std::string& where) {
    for (const auto& st : Stanzas(text)) {
      std::string status = Get(st, "Status");
      if (!status.empty() && status.find(" installed") == std::string::npos) continue;
      SbomPackage p{"deb", Get(st, "Package"), Get(st, "Version"), Get(st, "Architecture"), where,
                    ""};
      std::string ns = distro_id.empty() ? "debian" : distro_id;
      p.purl = "pkg:deb/" + ns + "/" + PurlEncode(p.name) + "@" + PurlEncode(p.version) +
               "?arch=" + PurlEncode(p.arch) + (distro.empty() ? "" : "&distro=" + distro);
      Add(std::move(p));
    }
  }

  void Apk(std::string_view text, const std::string& where) {
    // Records separated by blank lines, one "X:value" field a line.
    std::map<std::string, std::string> rec;
    auto flush = [&] {
      if (rec.count("P")) {
        SbomPackage p{"apk", rec["P"], rec["V"], rec["A"], where, ""};
        std::string ns = distro_id.empty() ? "alpine" : distro_id;
        p.purl = "pkg:apk/" + ns + "/" + PurlEncode(p.name) + "@" + PurlEncode(p.version) +
                 "?arch=" + PurlEncode(p.arch) + (distro.empty() ? "" : "&distro=" + distro);
        Add(std::move(p));
      }
      rec.clear();
    };
    for (const auto& line : Split(std::string(text), '\n')) {
      if (line.empty()) {
        flush();
        continue;
      }
      if (line.size() >= 2 && line[1] == ':') rec[line.substr(0, 1)] = line.substr(2);
    }
    flush();
  }

  void Python(std::string_view text, const std::string& where) {
    auto st = Stanzas(text, true);
    if (st.empty()) return;
    SbomPackage p{"pypi", Get(st[0], "Name"), Get(st[0], "Version"), "", where, ""};
    // PyPI names compare case-insensitively with '_' and '.' as '-' (PEP 503).
    std::string norm = ToLower(p.name);
    for (char& c : norm)
      if (c == '_' || c == '.') c = '-';
    p.purl = "pkg:pypi/" + PurlEncode(norm) + "@" + PurlEncode(p.version);
    Add(std::move(p));
  }

  void NpmPackage(const std::string& name, const std::string& version, const std::string& where) {
    if (name.empty() || version.empty()) return;
    SbomPackage p{"npm", name, version, "", where, ""};
    p.purl = "pkg:npm/" + PurlEncode(name) + "@" + PurlEncode(version);
    if (!name.empty() && name[0] == '@') {
      size_t slash = name.find('/');
      if (slash != std::string::npos)
        p.purl = "pkg:npm/" + PurlEncode(name.substr(0, slash)) + "/" +
                 PurlEncode(name.substr(slash + 1)) + "@" + PurlEncode(version);
    }
    Add(std::move(p));
  }

  void NpmLock(std::string_view text, const std::string& where) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return;
    auto pk = j.find("packages");
    if (pk == j.end() || !pk->is_object()) return;
    for (const auto& [path, info] : pk->items()) {
      if (path.empty() || !info.is_object()) continue;  // "" is the project itself
      size_t nm = path.rfind("node_modules/");
      if (nm == std::string::npos) continue;
      std::string name = info.value("name", path.substr(nm + 13));
      auto v = info.find("version");
      if (v == info.end() || !v->is_string()) continue;
      NpmPackage(name, v->get<std::string>(), where);
    }
  }

  void Elf(std::string_view data, const std::string& where) {
    for (auto& p : GoBuildInfoPackages(data, where)) Add(std::move(p));
  }

  Status Walk(int dirfd, const std::string& rel, int depth) {
    if (depth > 64) return Ok();
    int dup = ::dup(dirfd);
    if (dup < 0) return SysError("dup", "/" + rel);
    DIR* d = ::fdopendir(dup);
    if (!d) {
      ::close(dup);
      return SysError("fdopendir", "/" + rel);
    }
    std::vector<std::pair<std::string, unsigned char>> entries;
    while (struct dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      entries.emplace_back(n, e->d_type);
    }
    ::closedir(d);
    std::sort(entries.begin(), entries.end());
    std::string base = rel.empty() ? "" : rel + "/";
    bool in_node_modules = EndsWith("/" + rel, "/node_modules") ||
                           (rel.find("/node_modules/@") != std::string::npos &&
                            rel.rfind('/') == rel.rfind("/node_modules/@") + 13);
    for (const auto& [name, type] : entries) {
      std::string path = base + name;
      struct stat st;
      if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (S_ISDIR(st.st_mode)) {
        if (rel.empty() && (name == "proc" || name == "sys" || name == "dev")) continue;
        UniqueFd sub(
            ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub) continue;
        if (EndsWith(name, ".dist-info") || EndsWith(name, ".egg-info")) {
          const char* meta = EndsWith(name, ".dist-info") ? "METADATA" : "PKG-INFO";
          if (auto t = ReadAt(sub.get(), meta, kMaxMetadataBytes); t.ok())
            Python(*t, "/" + path + "/" + meta);
          continue;
        }
        if (in_node_modules) {
          if (auto t = ReadAt(sub.get(), "package.json", kMaxMetadataBytes); t.ok()) {
            auto j = nlohmann::json::parse(*t, nullptr, false);
            if (j.is_object() && j.contains("name") && j["name"].is_string() &&
                j.contains("version") && j["version"].is_string())
              NpmPackage(j["name"], j["version"], "/" + path + "/package.json");
          }
        }
        OCIB_TRY(Walk(sub.get(), path, depth + 1));
        continue;
      }
      if (!S_ISREG(st.st_mode)) continue;
      if (path == "var/lib/dpkg/status" || StartsWith(path, "var/lib/dpkg/status.d/")) {
        if (auto t = ReadAt(dirfd, name.c_str(), kMaxMetadataBytes); t.ok()) Dpkg(*t, "/" + path);
      } else if (path == "lib/apk/db/installed") {
        if (auto t = ReadAt(dirfd, name.c_str(), kMaxMetadataBytes); t.ok()) Apk(*t, "/" + path);
      } else if (EndsWith(name, ".egg-info")) {
        if (auto t = ReadAt(dirfd, name.c_str(), kMaxMetadataBytes); t.ok()) Python(*t, "/" + path);
      } else if (name == "package-lock.json" && rel.find("node_modules") == std::string::npos) {
        if (auto t = ReadAt(dirfd, name.c_str(), kMaxMetadataBytes); t.ok())
          NpmLock(*t, "/" + path);
      } else if ((st.st_mode & 0111) && st.st_size > 1024 && st.st_size < kMaxExecutableBytes) {
        UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        char magic[4];
        if (!fd || ::pread(fd.get(), magic, 4, 0) != 4 || std::memcmp(magic, ELFMAG, 4) != 0)
          continue;
        if (auto t = ReadAt(dirfd, name.c_str(), static_cast<size_t>(st.st_size) + 1); t.ok())
          Elf(*t, "/" + path);
      }
    }
    return Ok();
  }
};

}  // namespace

std::vector<SbomPackage> GoBuildInfoPackages(std::string_view elf, const std::string& where) {
  std::vector<SbomPackage> out;
  if (elf.size() < sizeof(Elf64_Ehdr) || elf.substr(0, 4) != ELFMAG) return out;
  if (static_cast<unsigned char>(elf[EI_CLASS]) != ELFCLASS64) return out;  // 64-bit images
  Elf64_Ehdr eh;
  std::memcpy(&eh, elf.data(), sizeof eh);
  if (eh.e_shoff == 0 || eh.e_shentsize != sizeof(Elf64_Shdr) ||
      eh.e_shoff + static_cast<uint64_t>(eh.e_shnum) * sizeof(Elf64_Shdr) > elf.size() ||
      eh.e_shstrndx >= eh.e_shnum)
    return out;
  auto shdr = [&](int i) {
    Elf64_Shdr s;
    std::memcpy(&s, elf.data() + eh.e_shoff + static_cast<uint64_t>(i) * sizeof s, sizeof s);
    return s;
  };
  Elf64_Shdr strtab = shdr(eh.e_shstrndx);
  if (strtab.sh_offset + strtab.sh_size > elf.size()) return out;
  std::string_view names = elf.substr(strtab.sh_offset, strtab.sh_size);
  std::string_view info;
  for (int i = 0; i < eh.e_shnum; ++i) {
    Elf64_Shdr s = shdr(i);
    if (s.sh_name >= names.size()) continue;
    std::string_view n = names.substr(s.sh_name);
    n = n.substr(0, n.find('\0'));
    if (n == ".go.buildinfo" && s.sh_offset + s.sh_size <= elf.size()) {
      info = elf.substr(s.sh_offset, s.sh_size);
      break;
    }
  }
  // The header: "\xff Go buildinf:", pointer size, flags; flag 2 = strings inline (Go 1.18+).
  static constexpr std::string_view kMagic = "\xff Go buildinf:";
  if (info.size() < 32 || info.substr(0, kMagic.size()) != kMagic) return out;
  if (!(static_cast<unsigned char>(info[15]) & 2)) return out;
  size_t pos = 32;
  auto next = [&](std::string* s) {
    uint64_t len;
    if (!ReadUvarint(info, &pos, &len) || pos + len > info.size()) return false;
    *s = std::string(info.substr(pos, len));
    pos += len;
    return true;
  };
  std::string go_version, modinfo;
  if (!next(&go_version) || !next(&modinfo)) return out;
  // modinfo is framed by 16-byte sentinels; lines are tab-separated.
  if (modinfo.size() >= 33) modinfo = modinfo.substr(16, modinfo.size() - 33);
  auto add = [&](const std::string& path, const std::string& version) {
    SbomPackage p{"golang", path, version, "", where, ""};
    p.purl = "pkg:golang/" + path + (version.empty() ? "" : "@" + PurlEncode(version));
    out.push_back(std::move(p));
  };
  add("stdlib", go_version.substr(0, 2) == "go" ? go_version.substr(2) : go_version);
  // Built outside module mode (as Debian builds Go), a binary names only its main package.
  std::string main_path;
  bool has_mod = false;
  for (const auto& line : Split(modinfo, '\n')) {
    auto f = Split(line, '\t');
    if (f.size() >= 2 && f[0] == "path") main_path = f[1];
    if (!f.empty() && f[0] == "mod") has_mod = true;
    if (f.size() >= 3 && (f[0] == "mod" || f[0] == "dep")) add(f[1], f[2]);
    if (f.size() >= 3 && f[0] == "=>" && !out.empty()) {
      out.back().name = f[1];  // a replaced module: the replacement is what was built
      out.back().version = f[2];
      out.back().purl = "pkg:golang/" + f[1] + "@" + PurlEncode(f[2]);
    }
  }
  if (!has_mod && !main_path.empty()) add(main_path, "");
  return out;
}

Result<std::vector<SbomPackage>> ScanPackages(const oci::RootDir& root) {
  Scanner sc;
  OCIB_ASSIGN_OR_RETURN(UniqueFd top, root.OpenAt("", O_RDONLY | O_DIRECTORY));
  // etc/os-release (or usr/lib/os-release) names the distribution for deb/apk package URLs.
  for (const char* p : {"etc/os-release", "usr/lib/os-release"}) {
    auto fd = root.OpenAt(p, O_RDONLY);
    if (!fd.ok()) continue;
    std::string t;
    char buf[8192];
    ssize_t n;
    while ((n = ::read(fd->get(), buf, sizeof buf)) > 0) t.append(buf, static_cast<size_t>(n));
    std::string id, ver;
    for (const auto& line : Split(t, '\n')) {
      auto [k, v] = SplitOnce(line, '=');
      if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'')) v = v.substr(1, v.size() - 2);
      if (k == "ID") id = v;
      if (k == "VERSION_ID") ver = v;
    }
    sc.distro_id = id;
    if (!id.empty()) sc.distro = id + (ver.empty() ? "" : "-" + ver);
    break;
  }
  OCIB_TRY(sc.Walk(top.get(), "", 0));
  return sc.out;
}

nlohmann::json SpdxDocument(const std::vector<SbomPackage>& packages,
                            const SbomDocumentInfo& info) {
  using json = nlohmann::json;
  std::string root_id = "SPDXRef-DocumentRoot-Image";
  json pkgs = json::array();
  json rels = json::array();
  pkgs.push_back({{"name", info.name},
                  {"SPDXID", root_id},
                  {"downloadLocation", "NOASSERTION"},
                  {"filesAnalyzed", false},
                  {"licenseConcluded", "NOASSERTION"},
                  {"licenseDeclared", "NOASSERTION"},
                  {"primaryPackagePurpose", "CONTAINER"}});
  rels.push_back({{"spdxElementId", "SPDXRef-DOCUMENT"},
                  {"relationshipType", "DESCRIBES"},
                  {"relatedSpdxElement", root_id}});
  std::string all;
  for (const auto& p : packages) {
    // SPDX ids allow letters, digits, '.' and '-': a hash keeps them unique and valid.
    std::string id =
        "SPDXRef-Package-" + p.type + "-" + Sha256::HexOf(p.purl + "|" + p.source).substr(0, 16);
    all += p.purl + "\n";
    json pkg = {{"name", p.name},
                {"SPDXID", id},
                {"versionInfo", p.version},
                {"downloadLocation", "NOASSERTION"},
                {"filesAnalyzed", false},
                {"licenseConcluded", "NOASSERTION"},
                {"licenseDeclared", "NOASSERTION"},
                {"copyrightText", "NOASSERTION"},
                {"sourceInfo", "acquired package info from " + p.source},
                {"externalRefs", json::array({{{"referenceCategory", "PACKAGE-MANAGER"},
                                               {"referenceType", "purl"},
                                               {"referenceLocator", p.purl}}})}};
    if (p.version.empty()) pkg.erase("versionInfo");
    pkgs.push_back(pkg);
    rels.push_back(
        {{"spdxElementId", root_id}, {"relationshipType", "CONTAINS"}, {"relatedSpdxElement", id}});
  }
  // A version-4-shaped UUID from the build's seed and content: unique per build, stable for
  // the same inputs.
  std::string h = Sha256::HexOf(info.namespace_seed + "\n" + info.name + "\n" + all);
  std::string uuid = h.substr(0, 8) + "-" + h.substr(8, 4) + "-4" + h.substr(13, 3) + "-a" +
                     h.substr(17, 3) + "-" + h.substr(20, 12);
  return {{"spdxVersion", "SPDX-2.3"},
          {"dataLicense", "CC0-1.0"},
          {"SPDXID", "SPDXRef-DOCUMENT"},
          {"name", info.name},
          {"documentNamespace", "urn:uuid:" + uuid},
          {"creationInfo",
           {{"created", info.created}, {"creators", json::array({"Tool: " + info.tool})}}},
          {"packages", pkgs},
          {"relationships", rels}};
}

}  // namespace ocibuild::builder
