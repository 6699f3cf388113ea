// String helpers used across the tree.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ocibuild {

std::vector<std::string> Split(std::string_view s, char sep);
// Splits on the first `sep`; the second part is empty (and `found` false) when absent.
// One CSV record as Go's encoding/csv reads it (buildx parses -o, --secret, --attest so):
// "a,\"b,c\"" gives {a, "b,c"}, "" inside quotes is a quote; nullopt for a stray quote.
std::optional<std::vector<std::string>> SplitCsv(std::string_view s);
std::pair<std::string, std::string> SplitOnce(std::string_view s, char sep, bool* found = nullptr);
std::string_view TrimSpace(std::string_view s);
std::string ToLower(std::string_view s);
bool StartsWith(std::string_view s, std::string_view prefix);
bool EndsWith(std::string_view s, std::string_view suffix);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);
// Levenshtein distance, for "did you mean" suggestions.
size_t EditDistance(std::string_view a, std::string_view b);
// Closest candidate within a small distance, or "" when nothing is close.
std::string NearestMatch(std::string_view word, const std::vector<std::string>& candidates);
// BuildKit's suggestion for a Dockerfile error ("did you mean ...?"): the candidate with the
// smallest Levenshtein distance below 3, compared case-insensitively and given the word's case
// when the word is all lower or all upper case; "" when none is close or one is equal.
std::string BuildkitSuggestion(std::string_view word, const std::vector<std::string>& candidates);
// Human-readable byte count ("12.3 MB").
std::string HumanBytes(uint64_t n);

// Lower-case hex of `bytes` (two digits per byte).
std::string HexEncode(std::string_view bytes);

// `bytes` random bytes (getrandom) as lower-case hex: names nobody can guess or repeat. Where
// the kernel gives none, the time, pid and a counter stand in (unique, not secret).
std::string RandomHex(size_t bytes);

}  // namespace ocibuild
