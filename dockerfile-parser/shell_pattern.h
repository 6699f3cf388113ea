// The patterns of ${VAR#p} ${VAR##p} ${VAR%p} ${VAR%%p} ${VAR/p/r} ${VAR//p/r}, with BuildKit's
// semantics: `*` (any run of characters) and `?` (one character), neither matching a newline;
// `\*`, `\?` and `\\` are literal; `\}` and `\/` stand for `}` and `/` (they had to be escaped to
// get past the substitution's own delimiters). There are no bracket expressions.
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"

namespace ocibuild::dockerfile {

// ${VAR#pattern} (shortest) and ${VAR##pattern} (longest, `longest` = true): removes the
// matching prefix of `value`, if any. Errors describe the pattern problem only
// ("invalid escape '\x'"); the caller adds which substitution it was.
Result<std::string> TrimPatternPrefix(std::string_view pattern, std::string_view value,
                                      bool longest);
// ${VAR%pattern} / ${VAR%%pattern}: removes the matching suffix.
Result<std::string> TrimPatternSuffix(std::string_view pattern, std::string_view value,
                                      bool longest);
// ${VAR/pattern/replacement} (first, leftmost-longest match) and ${VAR//pattern/replacement}
// (`all`). As in BuildKit, which hands the replacement to Go's Regexp.ReplaceAllString, the
// replace-all form expands `$0`/`${0}` to the matched text, `$$` to `$`, and any other `$name`
// to nothing.
Result<std::string> ReplacePattern(std::string_view pattern, std::string_view value,
                                   std::string_view replacement, bool all);

}  // namespace ocibuild::dockerfile
