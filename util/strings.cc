#include "util/strings.h"

#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdint>
#include <cstdio>

namespace ocibuild {

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t i = s.find(sep, start);
    if (i == std::string_view::npos) {
      out.emplace_back(s.substr(start));
      return out;
    }
    out.emplace_back(s.substr(start, i - start));
    start = i + 1;
  }
}

std::optional<std::vector<std::string>> SplitCsv(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  for (;;) {
    std::string field;
    if (i < s.size() && s[i] == '"') {
      ++i;
      for (;;) {
        if (i >= s.size()) return std::nullopt;  // unterminated quote
        if (s[i] == '"') {
          if (i + 1 < s.size() && s[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += s[i++];
      }
      if (i < s.size() && s[i] != ',') return std::nullopt;  // text after the closing quote
    } else {
      size_t end = s.find(',', i);
      if (end == std::string_view::npos) end = s.size();
      field.assign(s.substr(i, end - i));
      if (field.find('"') != std::string::npos) return std::nullopt;  // bare quote
      i = end;
    }
    out.push_back(std::move(field));
    if (i >= s.size()) return out;
    ++i;  // the comma
  }
}

std::pair<std::string, std::string> SplitOnce(std::string_view s, char sep, bool* found) {
  size_t i = s.find(sep);
  if (found) *found = i != std::string_view::npos;
  if (i == std::string_view::npos) return {std::string(s), ""};
  return {std::string(s.substr(0, i)), std::string(s.substr(i + 1))};
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool StartsWith(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}
bool EndsWith(std::string_view s, std::string_view x) {
  return s.size() >= x.size() && s.substr(s.size() - x.size()) == x;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  // Optimal string alignment distance: a swap of two neighbours ("moutn") is one edit.
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[n][m];
}

std::string NearestMatch(std::string_view word, const std::vector<std::string>& candidates) {
  std::string lw = ToLower(word);
  std::string best;
  size_t best_d = SIZE_MAX;
  for (const auto& c : candidates) {
    size_t d = EditDistance(lw, ToLower(c));
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  // Allow about one edit per three characters, at least one.
  size_t limit = std::max<size_t>(1, lw.size() / 3);
  return best_d <= limit ? best : "";
}

std::string BuildkitSuggestion(std::string_view word, const std::vector<std::string>& candidates) {
  auto levenshtein = [](std::string_view a, std::string_view b) {
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      cur[0] = i;
      for (size_t j = 1; j <= b.size(); ++j)
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
      std::swap(prev, cur);
    }
    return prev[b.size()];
  };
  std::string lw = ToLower(word);
  std::string best;
  size_t best_d = 3;
  for (const auto& c : candidates) {
    std::string lc = ToLower(c);
    if (lc == lw) return "";
    size_t d = levenshtein(lw, lc);
    if (d < best_d) {
      best_d = d;
      best = lc;
    }
  }
  if (best.empty()) return best;
  std::string upper = best;
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  std::string upper_word(word);
  for (auto& ch : upper_word) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (word == lw) return best;
  if (word == upper_word) return upper;
  for (const auto& c : candidates)
    if (ToLower(c) == best) return c;
  return best;
}

std::string HumanBytes(uint64_t n) {
  static const char* kUnits[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  return buf;
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto c = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kHex[c >> 4];
    out[2 * i + 1] = kHex[c & 15];
  }
  return out;
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (::getrandom(raw.data(), raw.size(), 0) != static_cast<ssize_t>(raw.size())) {
    static std::atomic<uint64_t> counter{0};
    struct timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t parts[3] = {static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec,
                         static_cast<uint64_t>(::getpid()), counter++};
    for (size_t i = 0; i < raw.size(); ++i)
      raw[i] = static_cast<char>(reinterpret_cast<const unsigned char*>(parts)[i % sizeof parts]);
  }
  return HexEncode(raw);
}

}  // namespace ocibuild
