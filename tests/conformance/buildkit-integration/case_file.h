// One ported BuildKit test case as data: a small text file in the style of Go's txtar archives.
//
//   # from: dockerfile_copy_test.go testCopyWildcards
//   # xfail: sandbox: <why this case cannot pass until the sandbox changes>
//   # free text describing the case
//   -- Dockerfile --
//   FROM scratch
//   COPY *.go /gofiles/
//   -- foo.go noeol --
//   foo-contents
//   -- :script --
//   build
//   file /gofiles/foo.go "foo-contents"
//
// Sections are files of the case's work directory: names under "www/" (served over HTTP) and
// "ext/" sit at its top, every other name is inside the build context "ctx/". Attributes after
// the name: `noeol` (drop the last newline), `mode=0700`, `symlink=TARGET` (a symlink; no body),
// `dir` (a directory; no body). Two names are special: ":setup" is a shell script run in the
// work directory before anything else, ":script" lists the steps and checks (see README.md).
// `{{name}}` placeholders are replaced everywhere before use (base images, server addresses).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace ocibuild::bki {

struct CaseFile {
  std::string path;  // relative to the case's work directory
  std::string content;
  int mode = -1;  // -1: 0644 for files, 0755 for directories
  std::string symlink;
  bool dir = false;
};

struct ScriptLine {
  int line = 0;  // in the case file
  std::vector<std::string> words;
  std::string rest;  // the text after the first word, unparsed (for JSON values)
};

struct Case {
  std::string name;               // "copy/wildcards"
  std::vector<std::string> from;  // BuildKit test(s) it ports: "file.go testName"
  std::string xfail;              // why the case is expected to fail ("" when it should pass)
  std::string xfail_unpriv;       // the same, only when not run as root
  // Base images a case names only through ARGs ("# needs: busybox"), which {{busybox}} cannot see.
  std::vector<std::string> needs;
  std::vector<CaseFile> files;
  std::string setup;
  std::vector<ScriptLine> script;
};

Result<Case> ParseCase(const std::string& name, std::string_view text);

// Splits a script line into words: blanks separate, "double quotes" group and understand
// \n \t \\ \" \0 escapes, 'single quotes' group literally.
Result<std::vector<std::string>> SplitWords(std::string_view line);

// Replaces every {{key}} of `vars` in `text`; an unknown {{key}} is left as it is.
std::string Substitute(std::string_view text, const std::map<std::string, std::string>& vars);

}  // namespace ocibuild::bki
