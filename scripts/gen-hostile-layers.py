#!/usr/bin/env python3
"""Writes the hostile layer corpus: small tars that try to make a layer applier touch files
outside the directory it unpacks into, plus expectations.tsv saying what ocibuild must do with
each one: "rejected" (with the error, exactly or as a prefix ending in "...") or "contained"
(applied, and nothing outside the root changed).

The test (oci/layer_hostile_test.cc) unpacks each into <sandbox>/root next to
<sandbox>/sentinel/, so "../sentinel" is where a naive extractor would write.

    scripts/gen-hostile-layers.py [OUT_DIR]   (default: testdata/hostile)
"""
import io
import os
import sys
import tarfile

MTIME = 1700000000
ESCAPE = "/tmp/ocibuild-hostile-escape"  # the test also checks the host's /tmp
HUGE = "/".join(["d" * 250] * 400) + "/f"


def reg(name, data=b"pwned\n", mode=0o644, uid=0, gid=0):
    ti = tarfile.TarInfo(name)
    ti.type, ti.size, ti.mode, ti.uid, ti.gid, ti.mtime = tarfile.REGTYPE, len(data), mode, uid, gid, MTIME
    return ti, data


def dir_(name, mode=0o755):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, mode, MTIME
    return ti, None


def sym(name, target):
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname, ti.mode, ti.mtime = tarfile.SYMTYPE, target, 0o777, MTIME
    return ti, None


def hard(name, target):
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname, ti.mode, ti.mtime = tarfile.LNKTYPE, target, 0o644, MTIME
    return ti, None


def dev(name, kind, major, minor, mode=0o660):
    ti = tarfile.TarInfo(name)
    ti.type, ti.devmajor, ti.devminor, ti.mode, ti.mtime = kind, major, minor, mode, MTIME
    return ti, None


CASES = [
    # name, entries, expectation, message
    ("dotdot", [reg("../sentinel/pwned")], "rejected",
     'layer entry "../sentinel/pwned": path escapes the root'),
    ("dotdot-deep", [dir_("a/"), reg("a/../../../../../../.." + ESCAPE)], "rejected",
     'layer entry "a/../../../../../../..' + ESCAPE + '": path escapes the root'),
    ("absolute", [reg(ESCAPE), reg("/etc/passwd", b"root::0:0::/:/bin/sh\n")], "contained", ""),
    ("symlink-then-write", [sym("evil", "../sentinel"), reg("evil/pwned")], "contained", ""),
    ("symlink-abs-then-write", [sym("etc", "/tmp"), reg("etc/ocibuild-hostile-escape")],
     "contained", ""),
    ("symlink-chain", [sym("a", "b"), sym("b", "../../../../.."), reg("a" + ESCAPE)],
     "contained", ""),
    ("symlink-dir-swap", [dir_("d/"), reg("d/ok"), sym("d", "../sentinel"), reg("d/pwned")],
     "contained", ""),
    ("symlink-over-file", [reg("f", b"ok"), sym("f", "../sentinel/secret"), reg("f", b"pwned\n")],
     "contained", ""),
    ("hardlink-escape", [hard("h", "../sentinel/secret")], "rejected",
     'layer entry "h": hardlink target "../sentinel/secret": path escapes the root'),
    ("hardlink-absolute", [hard("h", "/etc/passwd")], "rejected",
     'layer entry "h": hardlink target etc/passwd: No such file or directory'),
    ("hardlink-via-symlink", [sym("s", "../sentinel"), hard("h", "s/secret")], "rejected",
     'layer entry "h": ...'),
    ("hardlink-to-symlink", [sym("s", "../sentinel/secret"), hard("h", "s"), reg("h", b"pwned\n")],
     "contained", ""),
    ("hardlink-to-dir", [dir_("d/"), hard("h", "d")], "rejected",
     'layer entry "h": hardlink target "d" is a directory'),
    ("whiteout-dotdot", [reg("a/.wh..", b"")], "rejected",
     'layer entry "a/.wh..": invalid whiteout (names ".")'),
    ("whiteout-parent", [reg("../.wh.sentinel", b"")], "rejected",
     'layer entry "../.wh.sentinel": path escapes the root'),
    ("whiteout-through-symlink", [sym("up", ".."), reg("up/.wh.sentinel", b""),
                                  sym("up2", "../../.."), reg("up2/.wh..wh..opq", b"")],
     "contained", ""),
    ("whiteout-of-symlink-target", [sym("s", "../sentinel"), reg("s/.wh.secret", b"")],
     "contained", ""),
    ("devices", [dev("dev/sda", tarfile.BLKTYPE, 8, 0), dev("dev/mem", tarfile.CHRTYPE, 1, 1, 0o640),
                 dev("dev/kmsg", tarfile.CHRTYPE, 1, 11), dev("../sentinel/null", tarfile.CHRTYPE, 1, 3)],
     "rejected", 'layer entry "../sentinel/null": path escapes the root'),
    ("devices-inside", [dev("dev/sda", tarfile.BLKTYPE, 8, 0), dev("dev/mem", tarfile.CHRTYPE, 1, 1),
                        dev("dev/fifo", tarfile.FIFOTYPE, 0, 0)], "contained", ""),
    ("huge-component", [reg("x" * 300)], "rejected", 'layer entry "' + "x" * 200 + '...'),
    ("huge-path", [reg(HUGE)], "rejected",
     'layer entry "' + HUGE[:200] + '..." (%d bytes): path longer than PATH_MAX (4096 bytes)' % len(HUGE)),
    ("setuid-foreign", [reg("suid", b"#!/bin/sh\n", 0o4755, 0, 0), reg("sgid", b"x", 0o2755, 1000, 1000)],
     "contained", ""),
]


def write_tar(path, entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for ti, data in entries:
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "testdata", "hostile")
    os.makedirs(out, exist_ok=True)
    lines = []
    for name, entries, expect, message in CASES:
        write_tar(os.path.join(out, name + ".tar"), entries)
        lines.append("\t".join([name, expect, message]))
    with open(os.path.join(out, "expectations.tsv"), "w") as f:
        f.write("# name\toutcome\tmessage (exact, or a prefix when it ends in \"...\")\n")
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
