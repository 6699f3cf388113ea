#include "dockerfile-parser/shell_lex.h"

namespace ocibuild::dockerfile {

void Env::Set(std::string key, std::string value) {
  for (auto& kv : items_) {
    if (kv.first == key) {
      kv.second = std::move(value);
      return;
    }
  }
  items_.emplace_back(std::move(key), std::move(value));
}

void Env::Unset(std::string_view key) {
  std::erase_if(items_, [&](const auto& kv) { return kv.first == key; });
}

std::optional<std::string> Env::Get(std::string_view key) const {
  for (const auto& kv : items_)
    if (kv.first == key) return kv.second;
  return std::nullopt;
}

}  // namespace ocibuild::dockerfile
