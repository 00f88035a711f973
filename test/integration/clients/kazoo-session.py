"""Drives a server with kazoo (Python) and prints what it saw as JSON lines.

Run by other-clients.test.ts against Drover and against Apache ZooKeeper; the
two transcripts must match.
"""
import json
import sys

from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError, NodeExistsError, BadVersionError, NotEmptyError

hosts = sys.argv[1]
root = sys.argv[2]
out = []


def say(*items):
    out.append(list(items))


zk = KazooClient(hosts=hosts, timeout=10.0)
zk.start(timeout=15)
zk.ensure_path(root + "/a/b")
say("exists", zk.exists(root + "/a/b") is not None)
zk.set(root + "/a", b"hello")
data, stat = zk.get(root + "/a")
say("get", data.decode(), stat.version, stat.numChildren, stat.dataLength)
try:
    zk.create(root + "/a", b"x")
except NodeExistsError:
    say("create-exists")
try:
    zk.set(root + "/a", b"y", version=7)
except BadVersionError:
    say("bad-version")
try:
    zk.delete(root + "/a")
except NotEmptyError:
    say("not-empty")
try:
    zk.get(root + "/missing")
except NoNodeError:
    say("no-node")
seq = [zk.create(root + "/q/", b"", sequence=True, makepath=True) for _ in range(3)]
say("seq", [p[len(root):] for p in seq])
eph = zk.create(root + "/e", b"", ephemeral=True)
say("ephemeral-owner", zk.exists(eph).ephemeralOwner == zk.client_id[0])
tx = zk.transaction()
tx.create(root + "/t1", b"1")
tx.set_data(root + "/t1", b"2")
tx.check(root + "/a", 1)
say("txn", [r if isinstance(r, (str, bool)) else type(r).__name__ for r in tx.commit()])
tx = zk.transaction()
tx.create(root + "/t2", b"1")
tx.delete(root + "/missing")
say("txn-fail", [type(r).__name__ for r in tx.commit()])
say("t2-absent", zk.exists(root + "/t2") is None)
say("children", sorted(zk.get_children(root)))
c, st = zk.get_children(root + "/q", include_data=True)
say("children2", sorted(c), st.numChildren)
zk.sync(root)
say("version", zk.server_version()[:2])
say("ruok", zk.command(b"ruok"))
zk.delete(root, recursive=True)
say("deleted", zk.exists(root) is None)
zk.stop()
zk.close()
print(json.dumps(out))
