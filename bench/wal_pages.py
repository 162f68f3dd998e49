#!/usr/bin/env python3
"""wal_pages.py: which tables and indexes the frames of a SQLite WAL file wrote.

    bench/wal_pages.py DB WAL [FIRST_COMMIT]

Reads the WAL's frames (each a page written by a commit), maps every page number to the
b-tree that owns it in DB (SQLite's dbstat table, on a copy of the database with the WAL
applied), and prints frames per commit and the b-trees written, most frames first. A way
to see what a machine step writes (bench/profile_chain.sh with ORC_PROF_WAL=1 keeps one).
"""
import collections
import os
import shutil
import sqlite3
import struct
import sys
import tempfile


def frames(wal_path):
    with open(wal_path, "rb") as f:
        data = f.read()
    magic, _version, page_size, _ckpt, salt1, salt2, _c1, _c2 = struct.unpack(">8I", data[:32])
    if magic not in (0x377F0682, 0x377F0683):
        sys.exit("not a WAL file")
    off = 32
    while off + 24 + page_size <= len(data):
        pgno, commit_size, s1, s2 = struct.unpack(">4I", data[off:off + 16])
        if (s1, s2) != (salt1, salt2):
            break  # frames of an earlier generation of the WAL
        yield pgno, commit_size != 0
        off += 24 + page_size


def owners(db_path, wal_path):
    tmp = tempfile.mkdtemp()
    try:
        shutil.copy(db_path, os.path.join(tmp, "x.db"))
        shutil.copy(wal_path, os.path.join(tmp, "x.db-wal"))
        con = sqlite3.connect(os.path.join(tmp, "x.db"))
        return dict(con.execute("SELECT pageno, name FROM dbstat"))
    finally:
        shutil.rmtree(tmp)


def main():
    db, wal = sys.argv[1], sys.argv[2]
    first = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    owner = owners(db, wal)
    per_commit, by_tree = [], collections.Counter()
    n, commits = 0, 0
    for pgno, is_commit in frames(wal):
        if commits >= first:
            by_tree[owner.get(pgno, "(page %d: freed or new)" % pgno)] += 1
            n += 1
        if is_commit:
            if commits >= first:
                per_commit.append(n)
            n = 0
            commits += 1
    counted = len(per_commit)
    if counted == 0:
        sys.exit("no commit in the WAL")
    total = sum(per_commit)
    print("commits %d, frames %d, frames per commit %.2f" % (counted, total, total / counted))
    for name, k in by_tree.most_common():
        print("  %-45s %6d  %5.2f per commit" % (name, k, k / counted))


if __name__ == "__main__":
    main()
