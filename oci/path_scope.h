// The part of a rootfs a step can see: a few subtrees ("roots", clean rootfs-relative paths) and
// the directories on the way to them ("ancestors"; "" is the root directory). A scoped tree
// (builder/scoped_tree.h) holds exactly these paths of the full tree, nothing else: restores and
// layer unpacks are filtered through a PathScope.
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace ocibuild::oci {

class PathScope {
 public:
  PathScope() = default;
  // `roots`: clean paths without a leading '/'; "" (the whole tree) is allowed but makes every
  // path a root's.
  explicit PathScope(std::vector<std::string> roots);

  // `p` is a root or lies below one.
  bool Contains(std::string_view p) const;
  // `p` is a directory on the way to a root (not a root itself, nor below one).
  bool IsAncestor(std::string_view p) const;
  bool Relevant(std::string_view p) const { return Contains(p) || IsAncestor(p); }
  // For a path that is not Relevant: its longest prefix that is (the directory of the tree the
  // path would be created in or removed from).
  std::string AttachPoint(std::string_view p) const;
  // Every root of `other` lies in this scope.
  bool Covers(const PathScope& other) const;

  const std::vector<std::string>& roots() const { return roots_; }
  bool empty() const { return roots_.empty(); }

 private:
  std::vector<std::string> roots_;  // sorted, none below another
  std::unordered_set<std::string> root_set_;
  std::unordered_set<std::string> ancestors_;
};

// The union of two scopes.
PathScope Union(const PathScope& a, const PathScope& b);

}  // namespace ocibuild::oci
