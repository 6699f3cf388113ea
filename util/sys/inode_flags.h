// Inode flags (chattr(1)'s FS_IOC_GETFLAGS / FS_IOC_SETFLAGS) that are hints, never required.
#pragma once

namespace ocibuild::sys {

// Marks the directory open as `dir_fd` as the top of unrelated hierarchies (FS_TOPDIR_FL,
// chattr +T): ext2/3/4's Orlov allocator then places each new subdirectory of it in a block
// group of its own choosing instead of next to its parent. Needs only ownership of the
// directory. Returns 0, or -errno (ENOTTY / EOPNOTSUPP where the filesystem has no such flag).
int SetTopDir(int dir_fd);
// Whether FS_TOPDIR_FL is set: 1, 0, or -errno.
int HasTopDir(int dir_fd);

}  // namespace ocibuild::sys
