#!/usr/bin/env python3
"""Stream a source tarball into `git fast-import` as one commit.

    tar2git.py TARBALL REF MESSAGE | git fast-import --quiet

The first path component (linux-source-6.1/) is stripped; regular files,
executables and symlinks are kept (git does not track directories). Nothing
is unpacked on disk, and fast-import writes one pack, so importing another
6.1.y only adds the files that changed.
"""
import sys
import tarfile

tarball, ref, message = sys.argv[1:4]
out = sys.stdout.buffer
files = []
mark = 0


def data(b):
    out.write(b"data %d\n" % len(b))
    out.write(b)
    out.write(b"\n")


with tarfile.open(tarball, "r|*") as tar:
    for m in tar:
        parts = m.name.split("/", 1)
        if len(parts) < 2 or not parts[1]:
            continue
        path = parts[1]
        if m.issym():
            body = m.linkname.encode()
            mode = b"120000"
        elif m.isreg():
            body = tar.extractfile(m).read()
            mode = b"100755" if m.mode & 0o111 else b"100644"
        else:
            continue
        mark += 1
        out.write(b"blob\nmark :%d\n" % mark)
        data(body)
        files.append((mode, mark, path.encode()))

out.write(b"commit %s\n" % ref.encode())
out.write(b"committer rig <rig@localhost> 0 +0000\n")
data(message.encode())
out.write(b"deleteall\n")
for mode, mk, path in files:
    out.write(b"M %s :%d %s\n" % (mode, mk, path))
out.write(b"\n")
